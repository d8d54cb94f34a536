"""PyTorch side of bench/learned-soup-cnn/kernels.ts: the big operations of one CNN learning step, each timed alone
at the thread count of TORCH_THREADS (default 1), medians in milliseconds, printed as one JSON object keyed as
kernels.ts keys its rows. Shapes: batch 64, 32x32x3 inputs, conv 3x3 'same' 3->16->32->64 (NCHW, PyTorch's
layout), Dense 1024->512."""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
B = 64
LAYERS = [(32, 3, 16), (16, 16, 32), (8, 32, 64)]


def median_ms(f):
    for _ in range(3):
        f()
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        f()
        times.append(1000 * (time.perf_counter() - t))
    return statistics.median(times)


out = {}
g = torch.Generator().manual_seed(0)
for size, cin, cout in LAYERS:
    x = torch.randn(B, cin, size, size, generator=g)
    w = torch.randn(cout, cin, 3, 3, generator=g)
    bias = torch.randn(cout, generator=g)
    dy = torch.randn(B, cout, size, size, generator=g)
    name = f"{cin}->{cout} @{size}"
    out[f"conv forward {name}"] = median_ms(lambda: F.conv2d(x, w, bias, padding=1))
    out[f"conv backprop input {name}"] = median_ms(
        lambda: torch.ops.aten.convolution_backward(dy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [True, False, False]))
    out[f"conv backprop filter {name}"] = median_ms(
        lambda: torch.ops.aten.convolution_backward(dy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [False, True, False]))
    scale = torch.randn(cout, generator=g)
    shift = torch.randn(cout, generator=g)
    out[f"batchnorm inference forward {name}"] = median_ms(lambda: dy * scale[:, None, None] + shift[:, None, None])
    out[f"maxpool 2x2 {name}"] = median_ms(lambda: F.max_pool2d(dy, 2))
a = torch.randn(B, 1024, generator=g)
w = torch.randn(1024, 512, generator=g)
dy = torch.randn(B, 512, generator=g)
out["dense x.W [64x1024].[1024x512]"] = median_ms(lambda: a @ w)
out["dense xT.dy [64x1024]T.[64x512]"] = median_ms(lambda: a.t() @ dy)
out["dense dy.WT [64x512].[1024x512]T"] = median_ms(lambda: dy @ w.t())
print(json.dumps(out))
