import type { MergeMethod, MethodInput, ParamDef } from "../method.js";
import { combineTaskVectors, taskVector } from "../task-vectors.js";

export const LAMBDA: ParamDef = {
  name: "lambda",
  kind: "number",
  default: 1,
  description: "Scale of the combined task vector before it is added to the base.",
};
/**
 * Each model's task-vector coefficient λ_i, given by --weights. Untuned defaults are those the TIES paper (Yadav et
 * al. 2023) gives for merging without a validation set: λ = 0.4 for task arithmetic (Ilharco et al. tune one λ on
 * validation data), λ = 1 for TIES, whose disjoint mean keeps a task vector's scale. DARE takes those of the
 * method it drops entries for (dare_linear: task arithmetic; dare_ties: TIES).
 */
export const WEIGHT: ParamDef = {
  name: "weight",
  kind: "number",
  default: 0.4,
  description: "The model's task-vector coefficient λ_i (--weights; default 0.4).",
};
export const TIES_WEIGHT: ParamDef = {
  ...WEIGHT,
  default: 1,
  description: "The model's task-vector coefficient λ_i (--weights; default 1).",
};

/** W = W_base + λ·Σ w_i (W_i − W_base) (divided by Σ w_i when `normalize`). */
export const taskArithmetic: MergeMethod = {
  id: "task_arithmetic",
  mergekit: true,
  label: "Task arithmetic",
  reference: "https://arxiv.org/abs/2212.04089",
  base: "required",
  minModels: 1,
  maxModels: Infinity,
  scope: "element",
  globalParams: [
    { name: "normalize", kind: "boolean", default: false, description: "Divide the combined task vector by Σ w_i." },
    LAMBDA,
  ],
  modelParams: [WEIGHT],
  merge(input: MethodInput): Float32Array {
    const base = input.base!;
    return combineTaskVectors(
      base,
      input.models.map((m) => taskVector(m, base)),
      input.modelParams.map((p) => p.weight!),
      { consensus: false, normalize: input.params.normalize as boolean, lambda: input.params.lambda as number },
    );
  },
};
