import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { compose } from "../../../../src/core/merge/linalg/svd.js";
import { matrix, multiply, transpose, type Matrix } from "../../../../src/core/merge/linalg/dense.js";
import { thinSvd } from "../../../../src/core/merge/linalg/svd.js";
import { truncatedSvdWithPath } from "../../../../src/core/merge/linalg/truncated-svd.js";
import { tsvFactors } from "../../../../src/core/merge/methods/tsv-m.js";
import { mulberry32 } from "../../../../src/core/random.js";

const PYTHON = ["/usr/bin/python3", "python3"].find((p) => {
  try {
    execFileSync(p, ["-c", "import numpy"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
});

/** Runs a NumPy snippet on `input` (JSON on stdin as `x`) and returns what it prints as JSON. */
function numpy(code: string, input: unknown): unknown {
  const script = `import json, sys\nimport numpy as np\nx = json.load(sys.stdin)\n${code}`;
  return JSON.parse(execFileSync(PYTHON!, ["-c", script], { input: JSON.stringify(input), encoding: "utf8" }));
}

function random(rows: number, cols: number, seed: number): Matrix {
  const r = mulberry32(seed);
  return matrix(
    rows,
    cols,
    Array.from({ length: rows * cols }, () => 2 * r() - 1),
  );
}

/** L · diag(decay^j) · R: a matrix whose singular values fall off geometrically, like a fine-tuning update. */
function decaying(m: number, n: number, decay: number, seed: number): Matrix {
  const r = Math.min(m, n);
  const left = random(m, r, seed);
  for (let i = 0; i < m; i++) for (let j = 0; j < r; j++) left.data[i * r + j]! *= decay ** j;
  return multiply(left, random(r, n, seed + 1));
}

function orthonormalityError(m: Matrix): number {
  const g = multiply(transpose(m), m);
  let worst = 0;
  for (let i = 0; i < g.rows; i++)
    for (let j = 0; j < g.cols; j++) worst = Math.max(worst, Math.abs(g.data[i * g.cols + j]! - (i === j ? 1 : 0)));
  return worst;
}

const rows = (a: Matrix) =>
  Array.from({ length: a.rows }, (_, i) => Array.from(a.data.subarray(i * a.cols, (i + 1) * a.cols)));

describe("truncated SVD by subspace iteration (src/core/merge/linalg/truncated-svd.ts)", () => {
  for (const [m, n, k] of [
    [150, 100, 10],
    [100, 200, 12],
  ] as const) {
    it(`${m}×${n}, top ${k}: iterates, and equals NumPy's top ${k} (values, vectors up to sign, rank-${k} part)`, function () {
      if (PYTHON === undefined) this.skip();
      const a = decaying(m, n, 0.75, m + n);
      const { svd, path, rounds } = truncatedSvdWithPath(a, k);
      assert.equal(path, "iterated", "a decaying spectrum converges without the full SVD");
      assert.ok(rounds >= 1);
      const ref = numpy(
        `a = np.array(x["a"]); k = x["k"]\nu, s, vt = np.linalg.svd(a, full_matrices=False)\n` +
          `print(json.dumps({"s": s[:k].tolist(), "u": u[:, :k].tolist(), "low": (u[:, :k] * s[:k] @ vt[:k]).tolist()}))`,
        { a: rows(a), k },
      ) as { s: number[]; u: number[][]; low: number[][] };
      const s0 = ref.s[0]!;
      for (let j = 0; j < k; j++) {
        assert.ok(Math.abs(svd.s[j]! - ref.s[j]!) < 1e-10 * s0, `σ_${j}: ${svd.s[j]} vs ${ref.s[j]}`);
        let dot = 0;
        for (let i = 0; i < m; i++) dot += svd.u.data[i * k + j]! * ref.u[i]![j]!;
        assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-8, `u_${j}: |cos| = ${Math.abs(dot)}`);
      }
      const low = compose(svd.u, svd.s, svd.v);
      let worst = 0;
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) worst = Math.max(worst, Math.abs(low.data[i * n + j]! - ref.low[i]![j]!));
      assert.ok(worst < 1e-8 * s0, `rank-${k} part differs by ${worst}`);
    });
  }

  it("its factors are orthonormal and every kept triplet satisfies A v = σ u to 1e-9·σ_1", () => {
    const a = decaying(120, 90, 0.7, 5);
    const { svd, path } = truncatedSvdWithPath(a, 15);
    assert.equal(path, "iterated");
    assert.ok(orthonormalityError(svd.u) < 1e-10 && orthonormalityError(svd.v) < 1e-10);
    const av = multiply(a, svd.v);
    for (let j = 0; j < 15; j++) {
      let squares = 0;
      for (let i = 0; i < 120; i++) squares += (av.data[i * 15 + j]! - svd.s[j]! * svd.u.data[i * 15 + j]!) ** 2;
      assert.ok(Math.sqrt(squares) <= 1.0000001e-9 * svd.s[0]!, `triplet ${j}`);
    }
  });

  it("a flat spectrum (no gap at k) or a k near the rank takes the full SVD, cut to k", () => {
    const flat = random(160, 160, 9);
    const done = truncatedSvdWithPath(flat, 20);
    assert.equal(done.path, "full");
    const full = thinSvd(flat);
    for (let j = 0; j < 20; j++) assert.equal(done.svd.s[j], full.s[j]);
    assert.equal(truncatedSvdWithPath(decaying(40, 30, 0.8, 3), 12).path, "full", "2(k + oversampling) > r");
  });

  it("TSV-M with task matrices large enough to iterate equals NumPy's TSV-M (full SVDs)", function () {
    if (PYTHON === undefined) this.skip();
    const tasks = [0, 1, 2].map((i) => decaying(120, 90, 0.75, 40 + 7 * i));
    const k = 30; // rank fraction 1/3 of r = 90
    for (const t of tasks) assert.equal(truncatedSvdWithPath(t, k).path, "iterated");
    const { u, s, v } = tsvFactors(tasks, 0);
    const merged = compose(u, s, v);
    const ref = numpy(
      `k = x["k"]\nus, ss, vs = [], [], []\n` +
        `for t in x["tasks"]:\n    u, s, vt = np.linalg.svd(np.array(t), full_matrices=False)\n` +
        `    us.append(u[:, :k]); ss.append(s[:k]); vs.append(vt[:k].T)\n` +
        `def polar(m):\n    p, _, qt = np.linalg.svd(m, full_matrices=False)\n    return p @ qt\n` +
        `U = polar(np.hstack(us)); V = polar(np.hstack(vs))\n` +
        `print(json.dumps((U * np.concatenate(ss) @ V.T).tolist()))`,
      { k, tasks: tasks.map(rows) },
    ) as number[][];
    let worst = 0;
    let size = 0;
    for (let i = 0; i < 120; i++)
      for (let j = 0; j < 90; j++) {
        worst = Math.max(worst, Math.abs(merged.data[i * 90 + j]! - ref[i]![j]!));
        size = Math.max(size, Math.abs(ref[i]![j]!));
      }
    // The polar factors amplify the 1e-9 residuals by the stacks' conditioning; the merge is stored in float32.
    assert.ok(worst < 1e-6 * size, `TSV-M differs from NumPy's by ${worst} (values up to ${size})`);
  });
});
