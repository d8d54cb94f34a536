import type { MergeMethod, MethodInput, ParamDef } from "../method.js";
import { combineTaskVectors, taskVector, trimToTopK } from "../task-vectors.js";
import { LAMBDA, TIES_WEIGHT } from "./task-arithmetic.js";

export const DENSITY: ParamDef = {
  name: "density",
  kind: "number",
  default: 1,
  above: 0,
  max: 1,
  description: "Fraction of each task vector's entries kept.",
};

/** TIES: trim each task vector to its top-density magnitudes, elect a sign per entry, average the agreeing entries. */
export const ties: MergeMethod = {
  id: "ties",
  mergekit: true,
  label: "TIES",
  reference: "https://arxiv.org/abs/2306.01708",
  base: "required",
  minModels: 1,
  maxModels: Infinity,
  scope: "tensor",
  globalParams: [
    {
      name: "normalize",
      kind: "boolean",
      default: true,
      description: "Average the agreeing entries (disjoint mean) rather than sum them.",
    },
    LAMBDA,
  ],
  modelParams: [TIES_WEIGHT, DENSITY],
  merge(input: MethodInput): Float32Array {
    const base = input.base!;
    const deltas = input.models.map((m, i) => trimToTopK(taskVector(m, base), input.modelParams[i]!.density!));
    return combineTaskVectors(
      base,
      deltas,
      input.modelParams.map((p) => p.weight!),
      {
        consensus: true,
        normalize: input.params.normalize as boolean,
        lambda: input.params.lambda as number,
      },
    );
  },
};
