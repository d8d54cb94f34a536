import { UsageError } from "../../errors.js";
import type { MergeMethod, MethodInput } from "../method.js";

/** Σ w_i·W_i, divided by Σ w_i when `normalize` (mergekit's default). */
export function weightedSum(models: readonly Float32Array[], weights: readonly number[], normalize: boolean, tensor: string): Float32Array {
  const n = models[0]!.length;
  const out = new Float32Array(n);
  let total = 0;
  for (const w of weights) total += w;
  if (normalize && total === 0) {
    throw new UsageError(`${tensor}: the weights sum to zero, so they cannot be normalized; set normalize: false or change the weights`);
  }
  const scale = normalize ? 1 / total : 1;
  // Accumulate in float64 for each element: with many ingredients float32 accumulation drifts.
  const acc = new Float64Array(n);
  models.forEach((m, i) => {
    const w = weights[i]!;
    for (let j = 0; j < n; j++) acc[j]! += w * m[j]!;
  });
  for (let j = 0; j < n; j++) out[j] = acc[j]! * scale;
  return out;
}

export const linear: MergeMethod = {
  id: "linear",
  label: "Weighted average",
  reference: "https://arxiv.org/abs/2203.05482",
  base: "none",
  minModels: 1,
  maxModels: Infinity,
  scope: "element",
  globalParams: [
    { name: "normalize", kind: "boolean", default: true, description: "Divide by the sum of the weights." },
  ],
  modelParams: [{ name: "weight", kind: "number", description: "The model's coefficient." }],
  merge(input: MethodInput): Float32Array {
    const weights = input.modelParams.map((p) => p.weight!);
    return weightedSum(input.models, weights, input.params.normalize as boolean, input.tensor.name);
  },
};

/** The uniform soup: the plain mean of the ingredients (linear with equal weights). */
export const uniform: MergeMethod = {
  id: "uniform",
  label: "Uniform soup",
  reference: "https://arxiv.org/abs/2203.05482",
  base: "none",
  minModels: 1,
  maxModels: Infinity,
  scope: "element",
  globalParams: [],
  modelParams: [],
  merge(input: MethodInput): Float32Array {
    return weightedSum(input.models, input.models.map(() => 1), true, input.tensor.name);
  },
};
