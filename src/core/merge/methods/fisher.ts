/**
 * Fisher merging (Matena & Raffel 2022, "Merging Models with Fisher-Weighted Averaging"): every value is the
 * average of the models' values weighted by each model's diagonal empirical Fisher, W = Σ F_i W_i / Σ F_i, with
 * every F_i floored at ε so that a value no model's data touches falls back to the plain average. Tensors without
 * a Fisher (non-trainable statistics such as BatchNormalization's moving mean) are plainly averaged.
 */
import { UsageError } from "../../errors.js";
import type { MergeMethod, MethodInput } from "../method.js";
import { uniformAverage } from "./linear.js";

/** Examples of the learn split the worker estimates each model's Fisher on, unless told otherwise. */
export const DEFAULT_FISHER_EXAMPLES = 512;
/** The floor of every Fisher value. */
export const DEFAULT_FISHER_EPSILON = 1e-6;

export function fisherAverage(
  models: readonly Float32Array[],
  fishers: readonly Float32Array[],
  epsilon: number,
  tensor: string,
): Float32Array {
  const n = models[0]!.length;
  if (fishers.length !== models.length || fishers.some((f) => f.length !== n)) {
    throw new UsageError(`${tensor}: expected one Fisher of ${n} values per model`);
  }
  const out = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    let num = 0;
    let den = 0;
    for (let i = 0; i < models.length; i++) {
      const f = Math.max(fishers[i]![j]!, epsilon);
      num += f * models[i]![j]!;
      den += f;
    }
    out[j] = num / den;
  }
  return out;
}

export const fisher: MergeMethod = {
  id: "fisher",
  label: "Fisher-weighted average",
  reference: "https://arxiv.org/abs/2111.09832",
  base: "none",
  minModels: 1,
  maxModels: Infinity,
  scope: "tensor",
  data: "required",
  globalParams: [
    {
      name: "epsilon",
      kind: "number",
      default: DEFAULT_FISHER_EPSILON,
      above: 0,
      description: "Floor of every Fisher value (a value no data touches is plainly averaged).",
    },
  ],
  modelParams: [],
  merge(input: MethodInput): Float32Array {
    const fishers = input.statistics?.fisher;
    if (fishers === undefined) return uniformAverage(input.models, input.tensor.name);
    return fisherAverage(input.models, fishers, input.params.epsilon as number, input.tensor.name);
  },
};
