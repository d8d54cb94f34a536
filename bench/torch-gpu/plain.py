"""bench/torch-gpu, the plain PyTorch loop the engine is measured against: the same learned-soup steps (softmax
coefficients from the uniform soup, Adam lr 0.05, the same batches), in one process, with functional_call as
model-soups and FusionBench AdaMerging do. BatchNorm in inference mode with the merged statistics (merged with
detached coefficients, as torch 1.13's functional_call needs; the engine also differentiates them).

usage: plain.py DIR DEVICE STEPS BATCH ORDER_FILE  -> one JSON line {step (median s), total (s), loss}
"""
import json
import statistics
import sys
import time

import numpy as np
import torch
import torchvision
from torch.nn.utils.stateless import functional_call


def main():
    folder, device, steps, batch = sys.argv[1], torch.device(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    meta = json.load(open(f"{folder}/meta.json"))
    order = torch.from_numpy(np.fromfile(sys.argv[5], dtype=np.int32).astype(np.int64))
    rows = meta["splits"]["learn"]
    x = torch.from_numpy(np.fromfile(f"{folder}/learn-x.f32", dtype=np.float32).reshape(rows))
    y = torch.from_numpy(np.fromfile(f"{folder}/learn-y.f32", dtype=np.float32)).long()
    states = [torch.load(f"{folder}/ft{i}.pt", weights_only=True) for i in range(meta["models"])]
    model = getattr(torchvision.models, meta["arch"])(weights=None, num_classes=meta["classes"]).to(device).eval()
    parameters = set(n for n, _ in model.named_parameters())
    stacked = {k: torch.stack([s[k] for s in states]).to(device) for k in states[0] if states[0][k].is_floating_point()}
    copied = {k: v.to(device) for k, v in states[0].items() if not v.is_floating_point()}
    raw = torch.zeros(len(states), device=device, requires_grad=True)
    optimizer = torch.optim.Adam([raw], lr=0.05)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    times, started, loss = [], time.perf_counter(), None
    for step in range(steps):
        t = time.perf_counter()
        pick = order[(step * batch) % len(order) :][:batch]
        if len(pick) < batch:
            pick = torch.cat([pick, order[: batch - len(pick)]])
        alpha = torch.softmax(raw, 0)
        merged = {k: torch.tensordot(alpha if k in parameters else alpha.detach(), s, dims=1) for k, s in stacked.items()}
        merged.update(copied)
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(functional_call(model, merged, (x[pick].to(device),)), y[pick].to(device))
        loss.backward()
        optimizer.step()
        sync()
        times.append(time.perf_counter() - t)
    print(json.dumps({"step": statistics.median(times[1:] or times), "total": time.perf_counter() - started, "loss": float(loss)}))


if __name__ == "__main__":
    torch.set_num_threads(int(__import__("os").environ.get("TORCH_THREADS", "0")) or torch.get_num_threads())
    main()
