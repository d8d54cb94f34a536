"""Independent weight matching (Git Re-Basin, Ainsworth et al. 2022) with NumPy and SciPy, for bench/alignment/run.ts.

    /usr/bin/python3 bench/alignment/reference.py <mlp|cnn> <reference index> <test.json> <ours.json> <model.json>...

Reads the TF.js models (model.json + weights.bin, float32), aligns every model to the reference with
scipy.optimize.linear_sum_assignment, merges them uniformly, and prints JSON: the test accuracy of the unaligned
and aligned uniform soups, the matching time, and the permutations (by layer name: unit j of the aligned model is
unit perm[j] of the original), and the matching objective Σ⟨W_ref, P(W)⟩ reached by its permutations and by
Model Soup's (ours.json). Written from the paper's algorithm, sharing no code with src/core/align.
"""
import json
import os
import sys
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.optimize import linear_sum_assignment


def read_model(path):
    with open(path) as f:
        model = json.load(f)
    folder = os.path.dirname(path)
    group = model["weightsManifest"][0]
    raw = b"".join(open(os.path.join(folder, p), "rb").read() for p in group["paths"])
    params, at = {}, 0
    for spec in group["weights"]:
        count = int(np.prod(spec["shape"])) if spec["shape"] else 1
        params[spec["name"]] = np.frombuffer(raw, dtype=np.float32, count=count, offset=at).reshape(spec["shape"]).astype(np.float64)
        at += 4 * count
    return params


# Each permutation: the (parameter, axis) pairs it acts on. A "flat:<h>x<w>" axis is a Dense kernel's input axis
# after a Flatten of an h×w×C map: it is viewed as [h·w, C, out] and permuted on C.
SPECS = {
    "mlp": {
        "hidden1": [("hidden1/kernel", 1), ("hidden1/bias", 0), ("hidden2/kernel", 0)],
        "hidden2": [("hidden2/kernel", 1), ("hidden2/bias", 0), ("output/kernel", 0)],
    },
    "cnn": {
        "conv1": [("conv1/kernel", 3), ("conv1/bias", 0), ("conv2/kernel", 2)],
        "conv2": [("conv2/kernel", 3), ("conv2/bias", 0), ("hidden/kernel", "flat:16")],
        "hidden": [("hidden/kernel", 1), ("hidden/bias", 0), ("output/kernel", 0)],
    },
}


def view(w, axis):
    """The parameter with the permuted axis first, as a matrix [units, rest]."""
    if isinstance(axis, str):
        positions = int(axis.split(":")[1])
        w = w.reshape(positions, -1, w.shape[-1])
        return np.moveaxis(w, 1, 0).reshape(w.shape[1], -1)
    return np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)


def take(w, perm, axis):
    if isinstance(axis, str):
        positions = int(axis.split(":")[1])
        shape = w.shape
        return np.take(w.reshape(positions, -1, shape[-1]), perm, axis=1).reshape(shape)
    return np.take(w, perm, axis=axis)


def permuted(spec, perms, params, name, skip=None):
    w = params[name]
    for p, pairs in spec.items():
        for (n, axis) in pairs:
            if n == name and (p, axis) != skip:
                w = take(w, perms[p], axis)
    return w


def weight_matching(spec, a, b, seed=0, max_iter=100):
    perms = {p: np.arange(a[pairs[0][0]].shape[pairs[0][1]]) for p, pairs in spec.items()}
    rng = np.random.default_rng(seed)
    names = list(spec)
    for _ in range(max_iter):
        progress = False
        for p in rng.permutation(names):
            n = len(perms[p])
            score = np.zeros((n, n))
            for (name, axis) in spec[p]:
                wa = view(a[name], axis)
                wb = view(permuted(spec, perms, b, name, skip=(p, axis)), axis)
                score += wa @ wb.T
            _, col = linear_sum_assignment(score, maximize=True)
            old = score[np.arange(n), perms[p]].sum()
            new = score[np.arange(n), col].sum()
            if new > old + 1e-12 * max(1.0, abs(old)):
                progress = True
                perms[p] = col
        if not progress:
            break
    return perms


def apply(spec, perms, params):
    return {name: permuted(spec, perms, params, name) for name in params}


def predict(family, params, x):
    relu = lambda v: np.maximum(v, 0)
    if family == "mlp":
        h = relu(x @ params["hidden1/kernel"] + params["hidden1/bias"])
        h = relu(h @ params["hidden2/kernel"] + params["hidden2/bias"])
        return h @ params["output/kernel"] + params["output/bias"]
    h = x.reshape(-1, 8, 8, 1)
    for layer in ("conv1", "conv2"):
        windows = sliding_window_view(h, (3, 3), axis=(1, 2))  # [n, h', w', c, 3, 3]
        h = relu(np.einsum("nhwcij,ijco->nhwo", windows, params[f"{layer}/kernel"]) + params[f"{layer}/bias"])
    h = h.reshape(h.shape[0], -1)
    h = relu(h @ params["hidden/kernel"] + params["hidden/bias"])
    return h @ params["output/kernel"] + params["output/bias"]


def accuracy(family, params, x, y):
    return float(np.mean(np.argmax(predict(family, params, x), axis=1) == y))


def main():
    family, reference, test_path, ours_path, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
    spec = SPECS[family]
    with open(test_path) as f:
        test = json.load(f)
    x = np.array(test["x"], dtype=np.float64).reshape(len(test["y"]), -1)
    y = np.array(test["y"], dtype=np.int64)
    models = [read_model(p) for p in paths]
    uniform = {k: np.mean([m[k] for m in models], axis=0) for k in models[0]}
    started = time.perf_counter()
    perms = [None if i == reference else weight_matching(spec, models[reference], m) for i, m in enumerate(models)]
    seconds = time.perf_counter() - started
    aligned = [m if perms[i] is None else apply(spec, perms[i], m) for i, m in enumerate(models)]
    aligned_uniform = {k: np.mean([m[k] for m in aligned], axis=0) for k in models[0]}
    with open(ours_path) as f:
        ours = json.load(f)["permutations"]

    def objective(perms, m):
        return sum(float(np.vdot(models[reference][k], v)) for k, v in apply(spec, perms, m).items())

    def as_arrays(p, like):
        # Groups left out of Model Soup's record did not move.
        return {k: np.array(p[k]) if k in p else np.arange(len(v)) for k, v in like.items()}

    objectives = [
        None if perms[i] is None else {"scipy": objective(perms[i], m), "ours": objective(as_arrays(ours[i], perms[i]), m), "unaligned": objective({k: np.arange(len(v)) for k, v in perms[i].items()}, m)}
        for i, m in enumerate(models)
    ]
    print(json.dumps({
        "uniform": accuracy(family, uniform, x, y),
        "alignedUniform": accuracy(family, aligned_uniform, x, y),
        "ingredients": [accuracy(family, m, x, y) for m in models],
        "seconds": seconds,
        "objectives": objectives,
        "permutations": [{} if p is None else {k: v.tolist() for k, v in p.items()} for p in perms],
    }))


main()
