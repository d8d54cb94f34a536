#!/usr/bin/env bash
# bench/torch-gpu: learned soup of torchvision fine-tunes, the PyTorch engine against a plain PyTorch loop on the
# same device, and two engine ranks against one. Run from anywhere, as it is:
#   bench/torch-gpu/run.sh            on a machine with a CUDA GPU: five ResNet-50 at 224×224 on cuda
#                                     (two ranks: one GPU each when there are two, else sharing the one)
#   bench/torch-gpu/run.sh --small    (or no GPU) two ResNet-18 at 32×32 on the CPU, one thread per rank: minutes
# Needs node (the repository's node_modules) and a Python with torch and torchvision ($PYTHON, else found on PATH
# and in the system folders). Nothing downloads: the models start from random weights and are fine-tuned here.
set -euo pipefail
cd "$(dirname "$0")/../.."
small=no
for arg in "$@"; do [ "$arg" = "--small" ] && small=yes; done
python="${PYTHON:-}"
if [ -z "$python" ]; then
  for candidate in python3 python /usr/bin/python3 /usr/local/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "import torch, torchvision" >/dev/null 2>&1; then
      python="$(command -v "$candidate")"
      break
    fi
  done
fi
[ -n "$python" ] || { echo "bench/torch-gpu: no Python with torch and torchvision found (set PYTHON)" >&2; exit 1; }
export PYTHON="$python"
gpu="$("$python" -c 'import torch; print("yes" if torch.cuda.is_available() else "no")')"
if [ "$small" = no ] && [ "$gpu" = yes ]; then
  exec node --import tsx bench/torch-gpu/run.ts --device cuda --arch resnet50 --models 5 --size 224 \
    --steps 30 --batch 64 --learn 1024 --validation 256 --tune-steps 20 --nproc 1,2
fi
[ "$small" = yes ] || echo "bench/torch-gpu: no CUDA GPU here; running the small CPU form" >&2
exec node --import tsx bench/torch-gpu/run.ts --device cpu --arch resnet18 --models 2 --size 32 \
  --steps 6 --batch 16 --learn 64 --validation 32 --tune-steps 3 --threads 1 --nproc 1,2
