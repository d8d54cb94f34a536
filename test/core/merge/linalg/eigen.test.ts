import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gramOfColumns, matrix, product, transpose, type Matrix } from "../../../../src/core/merge/linalg/dense.js";
import { symmetricEigen } from "../../../../src/core/merge/linalg/eigen.js";
import { rankOneUpdateEigen } from "../../../../src/core/merge/linalg/secular.js";
import { polarFactor, thinSvd, truncatedSvd } from "../../../../src/core/merge/linalg/svd.js";
import { tridiagonalEigen } from "../../../../src/core/merge/linalg/tridiagonal-eigen.js";
import { applyReflectors, reduceToTridiagonal } from "../../../../src/core/merge/linalg/tridiagonal-reduction.js";
import { mulberry32 } from "../../../../src/core/random.js";

const SCRIPT = fileURLToPath(new URL("./eigen-reference.py", import.meta.url));
const PYTHON = "/usr/bin/python3";
const EPS = 2 ** -52;

function randomSymmetric(n: number, seed: number): Matrix {
  const random = mulberry32(seed);
  const a = matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a.data[i * n + j] = a.data[j * n + i] = 2 * random() - 1;
  return a;
}

function maxAbs(xs: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m = Math.max(m, Math.abs(xs[i]!));
  return m;
}

/** max |QᵀQ − I| over the columns of q. */
function orthonormalityError(q: Matrix): number {
  const g = product(q, q, true, false);
  let worst = 0;
  for (let i = 0; i < g.rows; i++)
    for (let j = 0; j < g.cols; j++) worst = Math.max(worst, Math.abs(g.data[i * g.cols + j]! - (i === j ? 1 : 0)));
  return worst;
}

/** max |A V − V Λ| / max |λ|. */
function eigenResidual(a: Matrix, values: Float64Array, v: Matrix): number {
  const av = product(a, v);
  let worst = 0;
  for (let i = 0; i < v.rows; i++)
    for (let j = 0; j < v.cols; j++)
      worst = Math.max(worst, Math.abs(av.data[i * v.cols + j]! - v.data[i * v.cols + j]! * values[j]!));
  return worst / Math.max(maxAbs(values), Number.MIN_VALUE);
}

/** The tridiagonal n × n matrix of (d, e) as a dense matrix. */
function tridiagonalMatrix(d: ArrayLike<number>, e: ArrayLike<number>): Matrix {
  const n = d.length;
  const t = matrix(n, n);
  for (let i = 0; i < n; i++) {
    t.data[i * n + i] = d[i]!;
    if (i + 1 < n) t.data[i * n + i + 1] = t.data[(i + 1) * n + i] = e[i]!;
  }
  return t;
}

function assertEigensystem(a: Matrix, what: string, tolerance = 200): void {
  const n = a.rows;
  const { values, vectors } = symmetricEigen(a);
  for (let i = 1; i < n; i++) assert.ok(values[i]! <= values[i - 1]!, `${what}: decreasing`);
  assert.ok(
    orthonormalityError(vectors) < tolerance * n * EPS,
    `${what}: orthonormal (${orthonormalityError(vectors)})`,
  );
  const residual = eigenResidual(a, values, vectors);
  assert.ok(residual < tolerance * n * EPS, `${what}: residual ${residual}`);
}

describe("the symmetric eigensolver (tridiagonal reduction, divide and conquer, back-transformation)", () => {
  it("the blocked reduction is an orthogonal similarity to a tridiagonal matrix (across panel boundaries)", () => {
    for (const n of [1, 2, 5, 64, 65, 130, 200]) {
      const a = randomSymmetric(n, n);
      const work = Float64Array.from(a.data);
      const { d, e, tau } = reduceToTridiagonal(work, n);
      const q = matrix(n, n);
      for (let i = 0; i < n; i++) q.data[i * n + i] = 1;
      applyReflectors(work, n, tau, q.data, n);
      assert.ok(orthonormalityError(q) < 50 * n * EPS, `${n}: Q orthogonal`);
      const back = product(product(q, tridiagonalMatrix(d, e)), q, false, true);
      const worst = maxAbs(back.data.map((x, k) => x - a.data[k]!));
      assert.ok(worst < 50 * n * EPS, `${n}: Q T Qᵀ = A (${worst})`);
    }
  });

  it("the divide and conquer solves tridiagonals that deflate, cluster or split", () => {
    const n = 301;
    const cases: [string, number[], number[]][] = [
      // Wilkinson's W⁺: pairs of eigenvalues equal to many digits.
      ["Wilkinson W+", Array.from({ length: n }, (_, i) => Math.abs(i - 150)), Array<number>(n - 1).fill(1)],
      ["constant diagonal, unit off-diagonal", Array<number>(n).fill(2), Array<number>(n - 1).fill(1)],
      ["all equal diagonal, no off-diagonal", Array<number>(n).fill(3), Array<number>(n - 1).fill(0)],
      [
        "glued blocks (off-diagonal 1e-14 every 40 rows)",
        Array.from({ length: n }, (_, i) => (i % 40) / 10),
        Array.from({ length: n - 1 }, (_, i) => (i % 40 === 39 ? 1e-14 : 1)),
      ],
      [
        "graded over twenty decades",
        Array.from({ length: n }, (_, i) => 10 ** (-i / 15)),
        Array.from({ length: n - 1 }, (_, i) => 10 ** (-(i + 0.5) / 15)),
      ],
    ];
    for (const [what, d, e] of cases) {
      const { values, vectors } = tridiagonalEigen(Float64Array.from(d), Float64Array.from(e));
      for (let i = 1; i < n; i++) assert.ok(values[i]! >= values[i - 1]!, `${what}: increasing`);
      const v = transpose(matrix(n, n, vectors));
      assert.ok(orthonormalityError(v) < 100 * n * EPS, `${what}: orthonormal (${orthonormalityError(v)})`);
      const residual = eigenResidual(tridiagonalMatrix(d, e), values, v);
      assert.ok(residual < 100 * n * EPS, `${what}: residual ${residual}`);
    }
  });

  it("the secular equation's roots interlace the poles and its eigenvectors are orthonormal", () => {
    const d = Float64Array.from([0, 1e-9, 1, 1 + 1e-12, 2, 5]);
    const z = Float64Array.from([1, 2, 1e-6, 3, 1, 1]);
    const norm = Math.hypot(...z);
    const { values, vectors } = rankOneUpdateEigen(
      d,
      z.map((x) => x / norm),
      0.5,
    );
    for (let i = 0; i < d.length; i++) {
      // λ_2 lies 1e-25 above d_2 = 1 (its z is tiny and d_3 is 1e-12 away): equal to it in float64.
      assert.ok(values[i]! >= d[i]!, `λ_${i} not below d_${i}`);
      if (i + 1 < d.length) assert.ok(values[i]! < d[i + 1]!, `λ_${i} below d_${i + 1}`);
    }
    const u = matrix(d.length, d.length, vectors);
    assert.ok(orthonormalityError(u) < 1e-13);
    // D + ρ z zᵀ = Uᵀ Λ U (rows of u are the eigenvectors).
    const a = matrix(d.length, d.length);
    for (let i = 0; i < d.length; i++)
      for (let j = 0; j < d.length; j++)
        a.data[i * d.length + j] = (i === j ? d[i]! : 0) + (0.5 * z[i]! * z[j]!) / norm ** 2;
    assert.ok(eigenResidual(a, values, transpose(u)) < 1e-14);
  });

  it("random, rank-deficient, identity and all-ones matrices give orthonormal eigenvectors and small residuals", () => {
    for (const n of [1, 2, 31, 33, 100, 257]) assertEigensystem(randomSymmetric(n, 7 * n), `random ${n}`);
    const random = mulberry32(3);
    const b = matrix(
      6,
      120,
      Array.from({ length: 720 }, () => Math.round(6 * random() - 3)),
    );
    assertEigensystem(gramOfColumns(b), "Gram of rank 6");
    const identity = matrix(90, 90);
    for (let i = 0; i < 90; i++) identity.data[i * 91] = 1;
    assertEigensystem(identity, "identity");
    assertEigensystem(matrix(70, 70, new Float64Array(4900).fill(1)), "all ones");
  });

  it("asked for the top k, returns those k eigenvectors and every eigenvalue", () => {
    const a = randomSymmetric(150, 11);
    const all = symmetricEigen(a);
    const top = symmetricEigen(a, 9);
    assert.equal(top.values.length, 150);
    assert.deepEqual([top.vectors.rows, top.vectors.cols], [150, 9]);
    for (let j = 0; j < 9; j++) {
      let dot = 0;
      for (let i = 0; i < 150; i++) dot += top.vectors.data[i * 9 + j]! * all.vectors.data[i * 150 + j]!;
      assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-12, `eigenvector ${j}`);
    }
    assert.ok(eigenResidual(a, top.values.subarray(0, 9), top.vectors) < 1e-13);
    assert.throws(() => symmetricEigen(a, 151), /cannot take 151 eigenvectors of a 150×150 matrix/);
  });
});

interface Reference {
  symmetric: { name: string; n: number; a: number[]; eigenvalues: number[] }[];
  svd: { name: string; shape: [number, number]; a: number[]; singular: number[] }[];
}

function numpyReference(): Reference | undefined {
  try {
    execFileSync(PYTHON, ["-c", "import numpy"], { stdio: "ignore" });
  } catch {
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), "eigen-reference-"));
  try {
    execFileSync(PYTHON, [SCRIPT, join(dir, "reference.json")], { stdio: "ignore" });
    return JSON.parse(readFileSync(join(dir, "reference.json"), "utf8")) as Reference;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the eigensolver and the thin SVD against NumPy (eigen-reference.py)", function () {
  this.timeout(60_000);
  const reference = numpyReference();
  if (reference === undefined) {
    it("needs /usr/bin/python3 with NumPy");
    return;
  }
  for (const c of reference.symmetric) {
    it(`eigenvalues of ${c.name} (${c.n} × ${c.n}) equal numpy.linalg.eigvalsh's to 1e-13 of the largest`, () => {
      const a = matrix(c.n, c.n, c.a);
      const { values, vectors } = symmetricEigen(a);
      const scale = maxAbs(c.eigenvalues);
      values.forEach((x, i) =>
        assert.ok(Math.abs(x - c.eigenvalues[i]!) <= 1e-13 * scale, `λ_${i} ${x} vs ${c.eigenvalues[i]}`),
      );
      assert.ok(orthonormalityError(vectors) < 1e-12, "orthonormal");
      assert.ok(eigenResidual(a, values, vectors) < 1e-12, "residual");
    });
  }
  for (const c of reference.svd) {
    const [m, n] = c.shape;
    it(`thin SVD of ${c.name} (${m} × ${n}): NumPy's singular values, orthonormal factors, A = U Σ Vᵀ`, () => {
      const a = matrix(m, n, c.a);
      const { u, s, v } = thinSvd(a);
      const s1 = c.singular[0]!;
      // Through the Gram matrix a singular value carries an error of ~1e-16·σ1²/σ: 1e-11·σ1 at κ = 1e5, and ~1e-8·σ1
      // for the numerically zero ones (rank 7).
      const rank = c.singular.filter((x) => x > 1e-7 * s1).length;
      s.forEach((x, i) => {
        const tolerance = i < rank ? 1e-10 * s1 : 1e-7 * s1;
        assert.ok(Math.abs(x - c.singular[i]!) <= tolerance, `σ_${i} ${x} vs ${c.singular[i]}`);
      });
      // U's columns are zero where σ is numerically zero (rank 7): orthonormal over the rest, to ~1e-16·κ².
      const kept = matrix(m, rank);
      for (let i = 0; i < m; i++) for (let j = 0; j < rank; j++) kept.data[i * rank + j] = u.data[i * u.cols + j]!;
      assert.ok(orthonormalityError(kept) < 1e-6, `U orthonormal (${orthonormalityError(kept)})`);
      assert.ok(orthonormalityError(v) < 1e-12, "V orthonormal");
      const us = matrix(u.rows, u.cols, u.data);
      for (let i = 0; i < us.rows; i++) for (let j = 0; j < us.cols; j++) us.data[i * us.cols + j]! *= s[j]!;
      const back = product(us, v, false, true);
      const residual = Math.hypot(...back.data.map((x, k) => x - a.data[k]!)) / Math.hypot(...a.data);
      assert.ok(residual < 1e-12, `‖A − UΣVᵀ‖/‖A‖ = ${residual}`);
      const top = truncatedSvd(a, 5);
      top.s.forEach((x, i) => assert.equal(x, s[i]));
      if (rank === Math.min(m, n)) {
        const q = polarFactor(a);
        assert.ok(orthonormalityError(m >= n ? q : transpose(q)) < 1e-6, "polar factor orthonormal");
      }
    });
  }
});
