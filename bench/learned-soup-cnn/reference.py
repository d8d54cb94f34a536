"""PyTorch side of bench/learned-soup-cnn (see run.ts): makes the five CNN ingredients, and runs the reference
learned soup on them.

The CNN, in Keras terms: 3 × [Conv2D 3×3 'same' → BatchNormalization(eps 1e-3) → ReLU → MaxPooling2D 2×2], then
Flatten → Dense(512, relu) → Dense(10) (logits; softmax folded into the cross-entropy). Inputs 32×32×3 (NHWC).
Weights are exchanged in Keras layouts: conv kernels [kh, kw, in, out], dense kernels [in, out], and the flatten
order of an NHWC tensor, so run.ts can put them into the TensorFlow.js model unchanged.

usage: reference.py make DIR   -- trains a base model, then five fine-tunes (seeds 1..5); writes w{i}_{j}.bin
                                   (Keras layouts) and torch{i}.pt (the same weights as torch_model.py's state dict)
       reference.py learn DIR REPEATS -- the learned soup (model and layer granularity, or $GRANULARITY); prints one
                                         JSON line; $TORCH_THREADS threads (default 1)
"""
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from torch_model import state_dict_of  # noqa: E402

CHANNELS = [3, 16, 32, 64]
HIDDEN = 512
CLASSES = 10
EPS = 1e-3


def load_arrays(directory):
    meta = json.load(open(f"{directory}/meta.json"))
    arrays = {}
    for name, m in meta["arrays"].items():
        arrays[name] = torch.from_numpy(np.fromfile(f"{directory}/{m['file']}", dtype=m["dtype"]).reshape(m["shape"]).copy())
    return meta, arrays


def forward(params, x, train=False, stats=None):
    """params in Keras layouts and order: per block kernel, bias, gamma, beta, mean, var; then dense k, b, k, b."""
    h = x.permute(0, 3, 1, 2)  # NHWC -> NCHW
    for b in range(3):
        k, bias, gamma, beta, mean, var = params[6 * b : 6 * b + 6]
        h = F.conv2d(h, k.permute(3, 2, 0, 1), bias, padding=1)
        if train:
            h = F.batch_norm(h, stats[2 * b], stats[2 * b + 1], gamma, beta, True, 0.01, EPS)
        else:
            # Inference mode written out: the merged statistics depend on the coefficients (Model Soup differentiates them too).
            scale = gamma * torch.rsqrt(var + EPS)
            h = h * scale[:, None, None] + (beta - mean * scale)[:, None, None]
        h = F.max_pool2d(F.relu(h), 2)
    h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)  # flatten in NHWC order, as Keras
    h = F.relu(h @ params[18] + params[19])
    return h @ params[20] + params[21]


def init_params(generator):
    params = []
    for b in range(3):
        cin, cout = CHANNELS[b], CHANNELS[b + 1]
        params += [torch.randn(3, 3, cin, cout, generator=generator) * (2 / (9 * cin)) ** 0.5, torch.zeros(cout),
                   torch.ones(cout), torch.zeros(cout), torch.zeros(cout), torch.ones(cout)]
    flat = 4 * 4 * CHANNELS[-1]
    params += [torch.randn(flat, HIDDEN, generator=generator) * (2 / flat) ** 0.5, torch.zeros(HIDDEN),
               torch.randn(HIDDEN, CLASSES, generator=generator) * (1 / HIDDEN) ** 0.5, torch.zeros(CLASSES)]
    return params


def train(params, x, y, steps, seed, lr):
    """SGD with momentum on the trainable tensors; BatchNormalization statistics follow the batches (momentum 0.01)."""
    trainable = [p for j, p in enumerate(params) if not (j < 18 and j % 6 in (4, 5))]
    for p in trainable:
        p.requires_grad_(True)
    optimizer = torch.optim.SGD(trainable, lr=lr, momentum=0.9)
    generator = torch.Generator().manual_seed(seed)
    for step in range(steps):
        idx = torch.randint(0, x.shape[0], (64,), generator=generator)
        optimizer.zero_grad()
        stats = []
        for b in range(3):
            stats += [params[6 * b + 4], params[6 * b + 5]]
        loss = F.cross_entropy(forward(params, x[idx], True, stats), y[idx])
        loss.backward()
        optimizer.step()
    for p in trainable:
        p.requires_grad_(False)
    return params


def make(directory):
    torch.manual_seed(0)
    meta, a = load_arrays(directory)
    x, y = a["x_train"], a["y_train"].long()
    # A short base run and diverse fine-tunes (their own seeds, a larger step): ingredients that differ and are not perfect.
    base = train(init_params(torch.Generator().manual_seed(0)), x, y, 150, 0, 0.02)
    for i in range(5):
        tuned = train([p.clone() for p in base], x, y, 100, i + 1, 0.04)
        for j, p in enumerate(tuned):
            p.detach().numpy().astype(np.float32).tofile(f"{directory}/w{i}_{j}.bin")
        # The same weights as a state dict of torch_model.py's Cnn, for the PyTorch engine row.
        torch.save(state_dict_of(tuned), f"{directory}/torch{i}.pt")
    print(json.dumps({"shapes": [list(p.shape) for p in base]}))


def learn(directory, repeats):
    meta, a = load_arrays(directory)
    n = meta["ingredients"]
    layer_of = meta["layers"]
    shapes = meta["shapes"]
    stacked = [torch.stack([torch.from_numpy(np.fromfile(f"{directory}/w{i}_{j}.bin", dtype=np.float32).reshape(shapes[j])) for i in range(n)])
               for j in range(len(shapes))]
    layers = list(dict.fromkeys(layer_of))
    x_learn, y_learn = a["x_learn"], a["y_learn"].long()
    x_val, y_val = a["x_val"], a["y_val"].long()
    x_test, y_test = a["x_test"], a["y_test"].long()
    epochs, batch = meta["epochs"], meta["batch"]
    orders = [a[f"order_{e}"].long() for e in range(epochs)]

    def run(granularity):
        groups = 1 if granularity == "model" else len(layers)
        group_of = [0 if granularity == "model" else layers.index(l) for l in layer_of]
        alpha_raw = torch.nn.Parameter(torch.zeros(groups, n))
        optimizer = torch.optim.AdamW([alpha_raw], lr=0.05, weight_decay=0.0)

        def merged():
            alpha = torch.softmax(alpha_raw, dim=1)
            return [torch.tensordot(alpha[group_of[j]], stacked[j], dims=1) for j in range(len(stacked))]

        def score(x, y):
            with torch.no_grad():
                logits = forward(merged(), x)
                return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()

        start = time.perf_counter()
        # The same validation checks as Model Soup's learner: the start soup first (it keeps the best soup of the
        # path, the start included), then one after each epoch.
        start_loss = score(x_val, y_val)[0]
        history = [(time.perf_counter() - start, start_loss)]
        steps = 0
        step_times = []
        for epoch in range(epochs):
            order = orders[epoch]
            for s in range(0, len(order), batch):
                t = time.perf_counter()
                idx = order[s : s + batch]
                optimizer.zero_grad()
                loss = F.cross_entropy(forward(merged(), x_learn[idx]), y_learn[idx])
                loss.backward()
                optimizer.step()
                step_times.append(time.perf_counter() - t)
                steps += 1
            history.append((time.perf_counter() - start, score(x_val, y_val)[0]))
        total = time.perf_counter() - start
        final_val = history[-1][1]
        reached = next(t for t, v in history if v <= final_val)
        test_loss, test_acc = score(x_test, y_test)
        return {"total": total, "reached": reached, "val_loss": final_val, "test_loss": test_loss, "test_metric": test_acc,
                "step": statistics.median(step_times), "steps": steps, "start_check": history[0][0]}

    out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    for granularity in (os.environ.get("GRANULARITY") or "model,layer").split(","):
        run(granularity)  # warm-up
        runs = [run(granularity) for _ in range(repeats)]
        out[granularity] = {
            "total": statistics.median(r["total"] for r in runs),
            "reached": statistics.median(r["reached"] for r in runs),
            "step": statistics.median(r["step"] for r in runs),
            "start_check": statistics.median(r["start_check"] for r in runs),
            **{k: runs[-1][k] for k in ("val_loss", "test_loss", "test_metric", "steps")},
        }
    print(json.dumps(out))


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        learn(sys.argv[2], int(sys.argv[3]))
