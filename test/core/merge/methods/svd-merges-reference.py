"""
Independent NumPy reference for the SVD-based merges (TSV-M, Iso-C, Iso-CTS, WUDI) of
src/core/merge/methods/, following the papers and FusionBench's implementations with numpy.linalg.svd
(LAPACK) instead of Model Soup's own routines. Writes test/fixtures/svd-merges/expected.json: the seeded inputs
(float32 values) and the expected merged tensors, so the unit test needs no Python.

    /usr/bin/python3 test/core/merge/methods/svd-merges-reference.py [output.json]
"""
import json
import os
import sys

import numpy as np

rng = np.random.default_rng(20261206)
TASKS = 3


def f32(a):
    return np.asarray(a, dtype=np.float32)


def polar(a):
    u, _, vt = np.linalg.svd(a, full_matrices=False)
    return u @ vt


def tsv_m(taus, lam, fraction=None):
    r = min(taus[0].shape)
    k = int(r / len(taus)) if fraction is None else int(r * fraction)
    us, ss, vs = [], [], []
    for t in taus:
        u, s, vt = np.linalg.svd(t, full_matrices=False)
        us.append(u[:, :k]); ss.append(s[:k]); vs.append(vt[:k, :])
    u = np.concatenate(us, axis=1); s = np.concatenate(ss); vt = np.concatenate(vs, axis=0)
    return lam * polar(u) @ np.diag(s) @ polar(vt)


def iso_c(taus, lam):
    u, s, vt = np.linalg.svd(sum(taus), full_matrices=False)
    return lam * s.mean() * u @ vt


def iso_cts(taus, lam, fraction):
    m, n = taus[0].shape
    r = min(m, n)
    t = len(taus)
    common = int(r * fraction)
    specific = round((r - common) / t) * t
    common = r - specific
    per = specific // t
    u, s, vt = np.linalg.svd(sum(taus), full_matrices=False)
    uc = u[:, :common]
    cu = np.zeros((m, r)); cs = np.zeros(r); cv = np.zeros((r, n))
    for i, tau in enumerate(taus):
        rest = tau - uc @ uc.T @ tau
        a, b, c = np.linalg.svd(rest, full_matrices=False)
        cu[:, i * per:(i + 1) * per] = a[:, :per]
        cs[i * per:(i + 1) * per] = b[:per]
        cv[i * per:(i + 1) * per, :] = c[:per, :]
    cu[:, t * per:] = uc; cs[t * per:] = s[:common]; cv[t * per:, :] = vt[:common, :]
    return lam * cs.mean() * polar(cu) @ polar(cv)


def wudi_objective(tau, taus):
    return float(sum(np.sum(((tau - t) @ t.T) ** 2) / np.sum(t ** 2) for t in taus))


def wudi(taus, steps, lr):
    """Adam as torch.optim.Adam (betas 0.9, 0.999, eps 1e-8) on the WUDI loss, gradient by hand."""
    tau = sum(taus).copy()
    m1 = np.zeros_like(tau); m2 = np.zeros_like(tau)
    objective = [wudi_objective(tau, taus)]
    for step in range(1, steps + 1):
        g = sum(2 * (tau - t) @ t.T @ t / np.sum(t ** 2) for t in taus)
        m1 = 0.9 * m1 + 0.1 * g
        m2 = 0.999 * m2 + 0.001 * g * g
        tau = tau - lr * (m1 / (1 - 0.9 ** step)) / (np.sqrt(m2 / (1 - 0.999 ** step)) + 1e-8)
        objective.append(wudi_objective(tau, taus))
    return tau, objective


def case(name, stored_shape, outputs_first):
    base = f32(rng.normal(size=stored_shape))
    # Task vectors of a family of fine-tunes: small next to the base, partly shared.
    shared = rng.normal(size=stored_shape) * 0.05
    models = [f32(base + shared + rng.normal(size=stored_shape) * 0.1) for _ in range(TASKS)]
    taus = [m.astype(np.float64) - base.astype(np.float64) for m in models]
    if not outputs_first:
        taus = [t.T for t in taus]  # the papers' [outputs, inputs]
    back = (lambda d: d) if outputs_first else (lambda d: d.T)
    wudi_tau, wudi_objective_values = wudi(taus, 40, 2e-3)
    expected = {
        "tsv_m": back(tsv_m(taus, 1.0)),
        "tsv_m_lambda": back(tsv_m(taus, 0.7)),
        "tsv_m_fraction": back(tsv_m(taus, 1.0, 0.25)),
        "iso_c": back(iso_c(taus, 1.0)),
        "iso_c_lambda": back(iso_c(taus, 1.3)),
        "iso_cts": back(iso_cts(taus, 1.0, 0.8)),
        "iso_cts_half": back(iso_cts(taus, 1.0, 0.5)),
        "wudi": back(wudi_tau),
    }
    return {
        "name": name,
        "shape": list(stored_shape),
        "base": base.ravel().tolist(),
        "models": [m.ravel().tolist() for m in models],
        "expected": {k: (base.astype(np.float64) + v).ravel().tolist() for k, v in expected.items()},
        "wudiObjective": wudi_objective_values,
        "wudi": {"steps": 40, "lr": 2e-3},
    }


def vector_case():
    base = f32(rng.normal(size=[5]))
    models = [f32(base + rng.normal(size=[5]) * 0.1) for _ in range(TASKS)]
    mean = sum(m.astype(np.float64) - base for m in models) / TASKS
    return {
        "name": "dense/bias",
        "shape": [5],
        "base": base.tolist(),
        "models": [m.tolist() for m in models],
        "expected": {"mean_1": (base + mean).tolist(), "mean_0.7": (base + 0.7 * mean).tolist()},
    }


fixture = {
    "generator": "test/core/merge/methods/svd-merges-reference.py",
    "numpy": np.__version__,
    "cases": [case("dense_1/kernel", [9, 8], False), case("encoder.fc.weight", [10, 12], True)],
    "vector": vector_case(),
}
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../../fixtures/svd-merges/expected.json")
with open(out, "w") as f:
    json.dump(fixture, f)
    f.write("\n")
print(f"wrote {os.path.normpath(out)}")
