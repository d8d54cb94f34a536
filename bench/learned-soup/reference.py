"""PyTorch reference of the model-soups learned-soup recipe (mlfoundations/model-soups, learned_bylayer.py):
softmax-parameterised coefficients initialised to the uniform soup, AdamW(lr=0.05, weight_decay=0), 5 epochs,
batch 256, cross-entropy; only the coefficients are trained. The recipe's extra output temperature `beta` is
left out: it is not a weight average and cannot be saved into the merged model.

Both sides see the same mini-batches: run.ts writes the batch order of each epoch as Model Soup draws it (its
seeded shuffle), and this script uses it instead of torch.randperm, so the two runs follow the same path and
differ only in speed and float rounding.

Usage: python3 reference.py <exchange dir written by run.ts> <repeats>
Prints one JSON object: per granularity, the median wall time of the learning loop (weights and data already
in memory), the time at which the validation loss first reached its final value, and the final scores.
"""
import json
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def load(directory):
    meta = json.load(open(f"{directory}/meta.json"))
    arrays = {}
    for name, m in meta["arrays"].items():
        arrays[name] = torch.from_numpy(np.fromfile(f"{directory}/{m['file']}", dtype=m["dtype"]).reshape(m["shape"]).copy())
    return meta, arrays


def main():
    directory, repeats = sys.argv[1], int(sys.argv[2])
    meta, a = load(directory)
    n = meta["ingredients"]
    tensors = meta["tensors"]  # [{name, layer, activation}] in model order
    # stacked[j]: [N, *shape] for parameter tensor j
    stacked = [torch.stack([a[f"w{i}_{j}"] for i in range(n)]) for j in range(len(tensors))]
    layers = list(dict.fromkeys(t["layer"] for t in tensors))
    x_learn, y_learn = a["x_learn"], a["y_learn"].long()
    x_val, y_val = a["x_val"], a["y_val"].long()
    x_test, y_test = a["x_test"], a["y_test"].long()
    orders = [a[f"order_{e}"].long() for e in range(5)]

    def forward(params, x):
        h = x
        for k in range(0, len(params), 2):
            h = h @ params[k] + params[k + 1]
            if tensors[k]["activation"] == "relu":
                h = F.relu(h)
        return h  # logits: the Keras model's softmax is folded into the cross-entropy

    def run(granularity):
        groups = 1 if granularity == "model" else len(layers)
        group_of = [0 if granularity == "model" else layers.index(t["layer"]) for t in tensors]
        alpha_raw = torch.nn.Parameter(torch.zeros(groups, n))  # softmax -> 1/N each: the uniform soup
        optimizer = torch.optim.AdamW([alpha_raw], lr=0.05, weight_decay=0.0)

        def merged():
            alpha = torch.softmax(alpha_raw, dim=1)
            return [torch.tensordot(alpha[group_of[j]], stacked[j], dims=1) for j in range(len(tensors))]

        def score(x, y):
            with torch.no_grad():
                logits = forward(merged(), x)
                return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()

        start = time.perf_counter()
        history = []
        for epoch in range(5):
            order = orders[epoch]
            for s in range(0, len(order), 256):
                idx = order[s : s + 256]
                optimizer.zero_grad()
                loss = F.cross_entropy(forward(merged(), x_learn[idx]), y_learn[idx])
                loss.backward()
                optimizer.step()
            history.append((time.perf_counter() - start, score(x_val, y_val)[0]))
        total = time.perf_counter() - start
        final_val = history[-1][1]
        reached = next(t for t, v in history if v <= final_val)
        test_loss, test_acc = score(x_test, y_test)
        return {"total": total, "reached": reached, "val_loss": final_val, "test_loss": test_loss, "test_metric": test_acc,
                "coefficients": torch.softmax(alpha_raw, dim=1).detach().tolist()}

    out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    for granularity in ("model", "layer"):
        run(granularity)  # warm-up
        runs = [run(granularity) for _ in range(repeats)]
        out[granularity] = {
            "total": statistics.median(r["total"] for r in runs),
            "reached": statistics.median(r["reached"] for r in runs),
            **{k: runs[-1][k] for k in ("val_loss", "test_loss", "test_metric", "coefficients")},
        }
    print(json.dumps(out))


main()
