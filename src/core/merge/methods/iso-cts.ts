/**
 * Iso-CTS (Marczak et al., ICML 2025, "No Task Left Behind"): Iso-C with room for each task. Per 2-D weight
 * ([outputs, inputs]), the top k left singular directions of the summed task matrix Δ = Σ_i τ_i form the common
 * subspace (k = the common-space fraction of r = min(m, n), rounded so that the rest splits evenly over the T
 * tasks); each task contributes the top (r − k)/T singular directions of what of its own τ_i lies outside that
 * subspace, (I − U_c U_cᵀ) τ_i. The stacked left and right factors are orthogonalised (their polar factors) and
 * every singular value set to the mean of the stacked ones: W = W_base + λ·σ̄·Ũ Ṽᵀ. Other tensors take the mean task
 * vector. No data.
 */
import { matrix, product, type Matrix } from "../linalg/dense.js";
import { polarFactor, truncatedSvd } from "../linalg/svd.js";
import { addToBase, isMatrix, meanTaskVector, taskMatrix } from "../linalg/task-matrix.js";
import type { MergeMethod, MethodInput } from "../method.js";
import { ISO_LAMBDA, requireBase } from "./iso-c.js";

/** The paper's (and FusionBench's) common-subspace fraction, found best across its 8-, 14- and 20-task benchmarks. */
export const DEFAULT_COMMON_SPACE = 0.8;

/** Sizes of the common subspace and of each task's share of the rest (FusionBench's rounding). */
export function subspaceSizes(r: number, tasks: number, fraction: number): { common: number; perTask: number } {
  const common0 = Math.floor(r * fraction);
  let specific = Math.round((r - common0) / tasks) * tasks;
  while (specific > r) specific -= tasks;
  return { common: r - specific, perTask: specific / tasks };
}

/** Writes the columns of `from` into `into` starting at column `at`. */
function placeColumns(into: Matrix, from: Matrix, at: number): void {
  for (let i = 0; i < from.rows; i++) {
    for (let j = 0; j < from.cols; j++) into.data[i * into.cols + at + j] = from.data[i * from.cols + j]!;
  }
}

export function isoCtsDelta(tasks: readonly Matrix[], fraction: number): Matrix {
  const { rows: m, cols: n } = tasks[0]!;
  const r = Math.min(m, n);
  const t = tasks.length;
  const sum = matrix(m, n);
  for (const tau of tasks) for (let k = 0; k < sum.data.length; k++) sum.data[k]! += tau.data[k]!;
  const { common, perTask } = subspaceSizes(r, t, fraction);
  const total = truncatedSvd(sum, common);
  const uc = total.u;
  const u = matrix(m, r);
  const v = matrix(n, r);
  const s = new Float64Array(r);
  tasks.forEach((tau, i) => {
    if (perTask === 0) return;
    // (I − U_c U_cᵀ) τ_i: the part of the task the common subspace leaves out.
    const projected = product(uc, product(uc, tau, true));
    const rest = matrix(m, n, tau.data);
    for (let k = 0; k < rest.data.length; k++) rest.data[k]! -= projected.data[k]!;
    const own = truncatedSvd(rest, perTask);
    placeColumns(u, own.u, i * perTask);
    placeColumns(v, own.v, i * perTask);
    s.set(own.s, i * perTask);
  });
  placeColumns(u, uc, t * perTask);
  placeColumns(v, total.v, t * perTask);
  s.set(total.s, t * perTask);
  let mean = 0;
  for (const x of s) mean += x;
  mean /= r;
  const merged = product(polarFactor(u), polarFactor(v), false, true);
  for (let k = 0; k < merged.data.length; k++) merged.data[k]! *= mean;
  return merged;
}

export const isoCts: MergeMethod = {
  id: "iso_cts",
  label: "Iso-CTS (isotropic merge in common and task-specific subspaces)",
  reference: "https://arxiv.org/abs/2502.04959",
  base: "required",
  minModels: 1,
  maxModels: Infinity,
  scope: "tensor",
  globalParams: [
    ISO_LAMBDA,
    {
      name: "common_space",
      kind: "number",
      default: DEFAULT_COMMON_SPACE,
      min: 0,
      max: 1,
      description:
        "Fraction of each weight's singular directions given to the subspace the tasks share; the rest is split evenly among the tasks.",
    },
  ],
  modelParams: [],
  merge(input: MethodInput): Float32Array {
    const base = requireBase(input, "iso_cts");
    const lambda = input.params.lambda as number;
    const { shape, name } = input.tensor;
    if (!isMatrix(shape)) return meanTaskVector(input.models, base, lambda);
    const tasks = input.models.map((m) => taskMatrix(m, base, shape, name));
    return addToBase(base, isoCtsDelta(tasks, input.params.common_space as number), lambda, name);
  },
};
