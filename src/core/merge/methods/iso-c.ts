/**
 * Iso-C (Marczak et al., ICML 2025, "No Task Left Behind: Isotropic Model Merging with Common and Task-Specific
 * Subspaces"): per 2-D weight, the sum of the task matrices Δ = Σ_i (W_i − W_base) = U Σ Vᵀ with its singular values
 * flattened to their mean, W = W_base + λ·σ̄·U Vᵀ (σ̄ the mean of all min(m, n) singular values). Every other tensor
 * takes the mean task vector, as in the paper. No data.
 */
import { UsageError } from "../../errors.js";
import { polarDecomposition } from "../linalg/svd.js";
import { addToBase, isMatrix, meanTaskVector, taskMatrix } from "../linalg/task-matrix.js";
import type { MergeMethod, MethodInput, ParamDef } from "../method.js";

/** The paper tunes λ on validation data; FusionBench's default, 1, is the untuned choice (the flattened sum keeps Σ's mean scale). */
export const ISO_LAMBDA: ParamDef = {
  name: "lambda",
  kind: "number",
  default: 1,
  description: "Scale of the merged task matrix before it is added to the base (the paper's α).",
};

export function requireBase(input: MethodInput, id: string): Float32Array {
  if (input.base === undefined) throw new UsageError(`${id} needs the base model's values of ${input.tensor.name}`);
  return input.base;
}

export const isoC: MergeMethod = {
  id: "iso_c",
  label: "Iso-C (isotropic merge in the common subspace)",
  reference: "https://arxiv.org/abs/2502.04959",
  base: "required",
  minModels: 1,
  maxModels: Infinity,
  scope: "tensor",
  globalParams: [ISO_LAMBDA],
  modelParams: [],
  merge(input: MethodInput): Float32Array {
    const base = requireBase(input, "iso_c");
    const lambda = input.params.lambda as number;
    const { shape, name } = input.tensor;
    if (!isMatrix(shape)) return meanTaskVector(input.models, base, lambda);
    const sum = taskMatrix(input.models[0]!, base, shape, name);
    for (const m of input.models.slice(1)) {
      const t = taskMatrix(m, base, shape, name);
      for (let k = 0; k < sum.data.length; k++) sum.data[k]! += t.data[k]!;
    }
    // σ̄·U Vᵀ is σ̄ times Δ's polar factor: U itself is never needed.
    const { q: flat, s } = polarDecomposition(sum);
    let mean = 0;
    for (const x of s) mean += x;
    mean /= s.length;
    for (let k = 0; k < flat.data.length; k++) flat.data[k]! *= mean;
    return addToBase(base, flat, lambda, name);
  },
};
