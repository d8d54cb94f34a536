"""
NumPy reference for the SVD-based merges on the inputs where an SVD is hardest: an ill-conditioned task sum
(singular values spread over five decades) and exactly rank-deficient task matrices (dyadic values, so that float32
holds them exactly and the null space is exact). Polar factors are taken on the range, U_r V_rᵀ over the singular
values above 1e-7 of the largest (numpy.linalg.svd leaves the null-space columns arbitrary; Model Soup maps them to
zero). Writes JSON with the inputs and the expected merged tensors; run by svd-hard-cases.test.ts.

    /usr/bin/python3 test/core/merge/methods/svd-hard-cases-reference.py output.json
"""
import json
import sys

import numpy as np

rng = np.random.default_rng(20261207)
CUT = 1e-7


def polar(a):
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    r = int(np.sum(s > CUT * s[0]))
    return u[:, :r] @ vt[:r, :]


def tsv_m(taus):
    k = int(min(taus[0].shape) / len(taus))
    us, ss, vs = [], [], []
    for t in taus:
        u, s, vt = np.linalg.svd(t, full_matrices=False)
        us.append(u[:, :k]); ss.append(s[:k]); vs.append(vt[:k, :].T)
    return polar(np.concatenate(us, axis=1)) @ np.diag(np.concatenate(ss)) @ polar(np.concatenate(vs, axis=1)).T


def iso_c(taus):
    total = sum(taus)
    return np.linalg.svd(total, compute_uv=False).mean() * polar(total)


def iso_cts(taus, fraction):
    m, n = taus[0].shape
    r, t = min(m, n), len(taus)
    common = int(r * fraction)
    specific = round((r - common) / t) * t
    common = r - specific
    per = specific // t
    u, s, vt = np.linalg.svd(sum(taus), full_matrices=False)
    uc = u[:, :common]
    cu, cs, cv = np.zeros((m, r)), np.zeros(r), np.zeros((r, n))
    for i, tau in enumerate(taus):
        a, b, c = np.linalg.svd(tau - uc @ uc.T @ tau, full_matrices=False)
        cu[:, i * per:(i + 1) * per] = a[:, :per]; cs[i * per:(i + 1) * per] = b[:per]
        cv[i * per:(i + 1) * per, :] = c[:per, :]
    cu[:, t * per:] = uc; cs[t * per:] = s[:common]; cv[t * per:, :] = vt[:common, :]
    return cs.mean() * polar(cu) @ polar(cv.T).T


def orthonormal(rows, cols):
    q, _ = np.linalg.qr(rng.normal(size=(rows, cols)))
    return q


def ill_conditioned(m, n, tasks):
    """Tasks each with a geometric spectrum 1 … 1e-5 on their own random singular vectors, the last one chosen so that
    the sum has such a spectrum too: a condition number near 1e5 for every SVD the merges take."""
    base = (0.01 * rng.normal(size=(m, n))).astype(np.float32)
    r = min(m, n)
    spectrum = np.diag(np.geomspace(1.0, 1e-5, r))
    taus = [orthonormal(m, r) @ spectrum @ orthonormal(n, r).T / tasks for _ in range(tasks - 1)]
    taus.append(orthonormal(m, r) @ spectrum @ orthonormal(n, r).T - sum(taus))
    return base, [(base + t).astype(np.float32) for t in taus]


def rank_deficient(m, n, tasks, rank):
    """τ_i = B_i C / 64 with small integers: every value is exact in float32; all tasks share C's row space."""
    base = (rng.integers(-64, 65, size=(m, n)) / 64).astype(np.float32)
    c = rng.integers(-3, 4, size=(rank, n))
    models = [(base + rng.integers(-3, 4, size=(m, rank)) @ c / 64).astype(np.float32) for _ in range(tasks)]
    return base, models


def case(name, base, models, methods):
    taus = [mm.astype(np.float64) - base.astype(np.float64) for mm in models]
    expected = {}
    if "tsv_m" in methods: expected["tsv_m"] = tsv_m(taus)
    if "iso_c" in methods: expected["iso_c"] = iso_c(taus)
    if "iso_cts" in methods: expected["iso_cts"] = iso_cts(taus, methods["iso_cts"])
    singular = np.linalg.svd(sum(taus), compute_uv=False)
    return {
        "name": name,
        "shape": list(base.shape),
        "base": base.ravel().tolist(),
        "models": [mm.ravel().tolist() for mm in models],
        "params": {k: v for k, v in methods.items() if v is not None},
        "expected": {k: (base.astype(np.float64) + v).ravel().tolist() for k, v in expected.items()},
        "sumSingularValues": singular.tolist(),
    }


cases = [
    case("ill.weight", *ill_conditioned(40, 24, 3), {"tsv_m": None, "iso_c": None, "iso_cts": 0.8}),
    case("ill_wide.weight", *ill_conditioned(18, 33, 4), {"tsv_m": None, "iso_c": None, "iso_cts": 0.5}),
    case("low_rank.weight", *rank_deficient(30, 20, 3, 6), {"tsv_m": None, "iso_c": None, "iso_cts": 0.25}),
]
with open(sys.argv[1], "w") as f:
    json.dump({"numpy": np.__version__, "cases": cases}, f)
