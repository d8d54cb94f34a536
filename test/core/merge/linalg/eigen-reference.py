"""
NumPy reference for the symmetric eigensolver and the thin SVD (src/core/merge/linalg/): matrices where a
divide-and-conquer eigensolver is hardest (repeated and clustered eigenvalues, an exactly rank-deficient Gram
matrix, a spectrum over ten decades) and matrices to take the SVD of (random, conditioned near 1e5, exactly of rank
7). Writes JSON with each matrix and numpy.linalg.eigvalsh's eigenvalues or numpy.linalg.svd's singular values; run
by eigen.test.ts.

    /usr/bin/python3 test/core/merge/linalg/eigen-reference.py output.json
"""
import json
import sys

import numpy as np

rng = np.random.default_rng(20261207)


def orthonormal(rows, cols):
    q, _ = np.linalg.qr(rng.normal(size=(rows, cols)))
    return q


def with_spectrum(values):
    q = orthonormal(len(values), len(values))
    a = q @ np.diag(values) @ q.T
    return (a + a.T) / 2


n = 150
symmetric = {
    "random": (lambda g: g + g.T)(rng.normal(size=(n, n))),
    "repeated": with_spectrum(np.concatenate([np.full(60, 1.0), np.full(50, -2.0), np.linspace(3, 4, 40)])),
    "clustered": with_spectrum(np.concatenate([1 + 1e-12 * np.arange(70), np.geomspace(1e-3, 10, 80)])),
    "rank_deficient_gram": (lambda b: b.T @ b)(rng.integers(-3, 4, size=(5, 4)) @ rng.integers(-3, 4, size=(4, n))),
    "ten_decades": with_spectrum(np.geomspace(1e-10, 1, n)),
}
svd = {
    "random_tall": rng.uniform(-1, 1, size=(230, 170)),
    "random_wide": rng.uniform(-1, 1, size=(90, 200)),
    "kappa_1e5": orthonormal(200, 160) @ np.diag(np.geomspace(1, 1e-5, 160)) @ orthonormal(160, 160).T,
    "rank_7": (rng.integers(-3, 4, size=(180, 7)) @ rng.integers(-3, 4, size=(7, 140))).astype(np.float64),
}
out = {
    "symmetric": [
        {"name": k, "n": v.shape[0], "a": v.ravel().tolist(), "eigenvalues": np.linalg.eigvalsh(v)[::-1].tolist()}
        for k, v in symmetric.items()
    ],
    "svd": [
        {"name": k, "shape": list(v.shape), "a": v.ravel().tolist(), "singular": np.linalg.svd(v, compute_uv=False).tolist()}
        for k, v in svd.items()
    ],
}
with open(sys.argv[1], "w") as f:
    json.dump(out, f)
