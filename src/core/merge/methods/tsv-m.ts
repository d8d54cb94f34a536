/**
 * TSV-M (Gargiulo et al., CVPR 2025, "Task Singular Vectors: Reducing Task Interference in Model Merging"): per 2-D
 * weight, each task matrix τ_i = W_i − W_base is cut to its top k singular triplets (k = the rank fraction of
 * r = min(m, n); by default 1/T, so the T tasks together fill r); the task singular vectors are stacked,
 * U = [U_1 … U_T], V = [V_1 … V_T], decorrelated by replacing each stack with its orthogonal polar factor (the
 * Procrustes step: the orthonormal matrix nearest to it), and recombined with the tasks' singular values:
 * W = W_base + λ·Ũ diag(σ_1 … σ_T) Ṽᵀ. Other tensors take the mean task vector, as in the paper. No data.
 */
import { matrix, type Matrix } from "../linalg/dense.js";
import { compose, polarFactor, truncatedSvd } from "../linalg/svd.js";
import { addToBase, isMatrix, meanTaskVector, taskMatrix } from "../linalg/task-matrix.js";
import type { MergeMethod, MethodInput } from "../method.js";
import { ISO_LAMBDA, requireBase } from "./iso-c.js";

export interface TsvFactors {
  /** The decorrelated (orthonormal) stacked left and right factors, and the stacked singular values. */
  u: Matrix;
  s: Float64Array;
  v: Matrix;
}

/** Singular triplets kept per task: ⌊r · fraction⌋, with fraction 0 meaning 1/T. */
export function tsvRank(r: number, tasks: number, fraction: number): number {
  return Math.max(1, Math.floor(r * (fraction > 0 ? fraction : 1 / tasks)));
}

export function tsvFactors(tasks: readonly Matrix[], fraction: number): TsvFactors {
  const { rows: m, cols: n } = tasks[0]!;
  const k = Math.min(tsvRank(Math.min(m, n), tasks.length, fraction), Math.min(m, n));
  const width = k * tasks.length;
  const u = matrix(m, width);
  const v = matrix(n, width);
  const s = new Float64Array(width);
  tasks.forEach((tau, i) => {
    const svd = truncatedSvd(tau, k);
    const place = (into: Matrix, from: Matrix) => {
      for (let row = 0; row < from.rows; row++)
        for (let j = 0; j < k; j++) into.data[row * width + i * k + j] = from.data[row * from.cols + j]!;
    };
    place(u, svd.u);
    place(v, svd.v);
    s.set(svd.s, i * k);
  });
  return { u: polarFactor(u), s, v: polarFactor(v) };
}

export const tsvM: MergeMethod = {
  id: "tsv_m",
  label: "TSV-M (task singular vectors, decorrelated)",
  reference: "https://arxiv.org/abs/2412.00081",
  base: "required",
  minModels: 1,
  maxModels: Infinity,
  scope: "tensor",
  globalParams: [
    ISO_LAMBDA,
    {
      name: "rank_fraction",
      kind: "number",
      default: 0,
      min: 0,
      max: 1,
      description:
        "Fraction of each task matrix's singular triplets kept; 0 (the default, the paper's choice) keeps 1/T of them, so the T tasks together use the full rank.",
    },
  ],
  modelParams: [],
  merge(input: MethodInput): Float32Array {
    const base = requireBase(input, "tsv_m");
    const lambda = input.params.lambda as number;
    const { shape, name } = input.tensor;
    if (!isMatrix(shape)) return meanTaskVector(input.models, base, lambda);
    const tasks = input.models.map((m) => taskMatrix(m, base, shape, name));
    const { u, s, v } = tsvFactors(tasks, input.params.rank_fraction as number);
    return addToBase(base, compose(u, s, v), lambda, name);
  },
};
