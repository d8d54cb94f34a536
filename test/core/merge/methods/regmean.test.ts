import assert from "node:assert/strict";
import { fisher } from "../../../../src/core/merge/methods/fisher.js";
import { regmean } from "../../../../src/core/merge/methods/regmean.js";
import { prepareMerge } from "../../../../src/core/merge/plan.js";
import { mulberry32 } from "../../../../src/core/random.js";
import { assertClose, f32 } from "../helpers.js";

/** A rows×cols matrix (row-major) of seeded values in [-1, 1). */
function randomMatrix(rows: number, cols: number, random: () => number): Float64Array {
  return Float64Array.from({ length: rows * cols }, () => 2 * random() - 1);
}

function gram(x: Float64Array, rows: number, d: number): Float64Array {
  const g = new Float64Array(d * d);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) g[i * d + j]! += x[r * d + i]! * x[r * d + j]!;
  return g;
}

function matMul(a: Float64Array, b: Float64Array, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < k; p++) for (let j = 0; j < m; j++) out[i * m + j]! += a[i * k + p]! * b[p * m + j]!;
  return out;
}

/**
 * The least-squares W minimising ‖A W − B‖² by Householder QR of A (rows×d, full column rank): an independent
 * route that never forms AᵀA, unlike the method under test.
 */
function leastSquaresQR(a: Float64Array, b: Float64Array, rows: number, d: number, m: number): Float64Array {
  const A = Float64Array.from(a);
  const B = Float64Array.from(b);
  for (let k = 0; k < d; k++) {
    let norm = 0;
    for (let i = k; i < rows; i++) norm += A[i * d + k]! ** 2;
    norm = Math.sqrt(norm);
    const alpha = A[k * d + k]! > 0 ? -norm : norm;
    const v = new Float64Array(rows);
    for (let i = k; i < rows; i++) v[i] = A[i * d + k]!;
    v[k]! -= alpha;
    let vv = 0;
    for (let i = k; i < rows; i++) vv += v[i]! ** 2;
    const reflect = (M: Float64Array, cols: number, from: number) => {
      for (let j = from; j < cols; j++) {
        let dot = 0;
        for (let i = k; i < rows; i++) dot += v[i]! * M[i * cols + j]!;
        const f = (2 * dot) / vv;
        for (let i = k; i < rows; i++) M[i * cols + j]! -= f * v[i]!;
      }
    };
    reflect(A, d, k);
    reflect(B, m, 0);
  }
  const W = new Float64Array(d * m);
  for (let j = 0; j < m; j++) {
    for (let i = d - 1; i >= 0; i--) {
      let s = B[i * m + j]!;
      for (let p = i + 1; p < d; p++) s -= A[i * d + p]! * W[p * m + j]!;
      W[i * m + j] = s / A[i * d + i]!;
    }
  }
  return W;
}

describe("merge/regmean", () => {
  const d = 4;
  const m = 3;
  const random = mulberry32(7);
  const rows = [9, 6, 11];
  const xs = rows.map((r) => randomMatrix(r, d, random));
  const ws = rows.map(() => randomMatrix(d, m, random));
  const grams = xs.map((x, i) => gram(x, rows[i]!, d));
  const models = ws.map((w) => Float32Array.from(w));
  const tensor = { name: "dense/kernel", layer: "dense", shape: [d, m] };

  it("with α = 1 equals the least-squares solution of Σ‖X_i W − X_i W_i‖² (stacked system, solved by QR)", () => {
    // Stack [X_1; X_2; X_3] and targets [X_1 W_1; X_2 W_2; X_3 W_3]; solve by QR without any Gram matrix.
    const total = rows.reduce((a, b) => a + b, 0);
    const A = new Float64Array(total * d);
    const B = new Float64Array(total * m);
    let offset = 0;
    xs.forEach((x, i) => {
      A.set(x, offset * d);
      B.set(matMul(x, Float64Array.from(models[i]!), rows[i]!, d, m), offset * m);
      offset += rows[i]!;
    });
    const expected = leastSquaresQR(A, B, total, d, m);
    const out = regmean.merge({ tensor, models, params: { alpha: 1 }, modelParams: [], statistics: { gram: grams } });
    assertClose(out, Array.from(expected), 1e-5);
  });

  it("solves a PyTorch kernel (outputs first: [out, in] or [out, c, k]) as the transpose of the same system", () => {
    const transpose = (w: Float32Array, r: number, c: number) =>
      Float32Array.from({ length: r * c }, (_, k) => w[(k % r) * c + Math.floor(k / r)]!);
    const inputsFirst = regmean.merge({
      tensor,
      models,
      params: { alpha: 0.9 },
      modelParams: [],
      statistics: { gram: grams },
    });
    for (const shape of [
      [m, d],
      [m, 2, 2],
    ]) {
      const out = regmean.merge({
        tensor: { name: "conv.weight", layer: "conv", shape },
        models: models.map((w) => transpose(w, d, m)),
        params: { alpha: 0.9 },
        modelParams: [],
        statistics: { gram: grams, kernelLayout: "outputs-first" },
      });
      assertClose(out, Array.from(transpose(inputsFirst, d, m)), 1e-6);
    }
    // Through a merge plan, as a written file's tensors are merged, the layout reaches the method.
    const plan = prepareMerge({
      method: "regmean_plusplus",
      params: {},
      ingredients: models.map((_, i) => ({ path: `m${i}` })),
    });
    const planned = plan.mergeTensor({
      info: { name: "fc.weight", layer: "fc", shape: [m, d], dtype: "float32" },
      ingredients: models.map((w) => transpose(w, d, m)),
      statistics: { gram: grams, kernelLayout: "outputs-first" },
    }) as Float32Array;
    assertClose(planned, Array.from(transpose(inputsFirst, d, m)), 1e-6);
  });

  it("scales the off-diagonal entries by α (α = 0: each input row is a Gram-diagonal-weighted average)", () => {
    const out = regmean.merge({ tensor, models, params: { alpha: 0 }, modelParams: [], statistics: { gram: grams } });
    const expected: number[] = [];
    for (let r = 0; r < d; r++) {
      for (let c = 0; c < m; c++) {
        let num = 0;
        let den = 0;
        grams.forEach((g, i) => {
          num += g[r * d + r]! * models[i]![r * m + c]!;
          den += g[r * d + r]!;
        });
        expected.push(num / den);
      }
    }
    assertClose(out, expected, 1e-5);
  });

  it("is the identity for one model and plainly averages a tensor without a Gram matrix", () => {
    assertClose(
      regmean.merge({
        tensor,
        models: [models[0]!],
        params: { alpha: 0.9 },
        modelParams: [],
        statistics: { gram: [grams[0]!] },
      }),
      Array.from(models[0]!),
      1e-5,
    );
    const bias = { name: "dense/bias", layer: "dense", shape: [2] };
    assertClose(
      regmean.merge({
        tensor: bias,
        models: [f32(1, 2), f32(3, 6)],
        params: { alpha: 0.9 },
        modelParams: [],
        statistics: {},
      }),
      [2, 4],
    );
  });

  it("adds a ridge towards the plain average when an input is never active, and says so", () => {
    // Input 0 is zero in every row of every model: that row of the kernel is unconstrained by the data.
    const zeroed = grams.map((g) => {
      const z = Float64Array.from(g);
      for (let k = 0; k < d; k++) z[k] = z[k * d] = 0;
      return z;
    });
    const warnings: string[] = [];
    const out = regmean.merge({
      tensor,
      models,
      params: { alpha: 0.9 },
      modelParams: [],
      statistics: { gram: zeroed },
      warn: (w) => warnings.push(w),
    });
    const average = Array.from({ length: m }, (_, c) => models.reduce((s, w) => s + w[c]!, 0) / models.length);
    assertClose(out.slice(0, m), average, 1e-5);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /dense\/kernel: the inputs' Gram matrix \(4×4\) is singular; RegMean added a ridge/);
  });

  it("refuses a Gram matrix that does not fit the kernel", () => {
    assert.throws(
      () =>
        regmean.merge({
          tensor,
          models,
          params: { alpha: 0.9 },
          modelParams: [],
          statistics: { gram: grams.map(() => new Float64Array(9)) },
        }),
      /does not fit a kernel of shape \[4, 3\] \(expected 4×4\)/,
    );
  });

  it("a merge plan refuses to run RegMean or Fisher without statistics", () => {
    const spec = { method: "regmean" as const, params: {}, ingredients: [{ path: "a" }, { path: "b" }] };
    const info = { name: "k", layer: "k", shape: [2], dtype: "float32" as const };
    assert.throws(
      () => prepareMerge(spec).mergeTensor({ info, ingredients: [f32(1, 2), f32(3, 4)] }),
      /regmean needs statistics of the models on data/,
    );
    assertClose(
      prepareMerge({ ...spec, method: "fisher" }).mergeTensor({
        info,
        ingredients: [f32(1, 2), f32(3, 4)],
        statistics: { fisher: [f32(1, 0), f32(3, 0)] },
      }) as Float32Array,
      [2.5, 3],
      1e-5,
    );
  });
});

describe("merge/fisher", () => {
  const tensor = { name: "w", layer: "w", shape: [3] };
  it("weights every value by the models' Fisher: Σ F_i W_i / Σ F_i (hand-computed), with the ε floor", () => {
    // value 0: (1·1 + 3·5)/(1+3) = 4; value 1: (2·2 + 2·4)/4 = 3; value 2: no Fisher anywhere → ε both → mean 0.5
    const out = fisher.merge({
      tensor,
      models: [f32(1, 2, 0), f32(5, 4, 1)],
      params: { epsilon: 1e-6 },
      modelParams: [],
      statistics: { fisher: [f32(1, 2, 0), f32(3, 2, 0)] },
    });
    assertClose(out, [4, 3, 0.5], 1e-6);
  });
});
