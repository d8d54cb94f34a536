import { UsageError } from "../../errors.js";
import type { MergeMethod, MethodInput, MethodTerms } from "../method.js";
import { type WeightedSumTerms, weightedSumInto } from "../weighted-sum-kernel.js";

/** Σ w_i·W_i, over Σ w_i when `normalize`; undefined when the weights sum to zero and cannot be normalised. */
function linearTerms(weights: readonly number[], normalize: boolean): WeightedSumTerms | undefined {
  let total = 0;
  for (const w of weights) total += w;
  if (normalize && total === 0) return undefined;
  return { weights: [...weights], scale: normalize ? 1 / total : 1 };
}

/**
 * Σ w_i·W_i, divided by Σ w_i when `normalize` (mergekit's default), summed in float64 for each element (with many
 * ingredients float32 accumulation drifts). Written into `output` when given (a streamed piece's buffer).
 */
export function weightedSum(
  models: readonly Float32Array[],
  weights: readonly number[],
  normalize: boolean,
  tensor: string,
  output?: Float32Array,
): Float32Array {
  const terms = linearTerms(weights, normalize);
  if (terms === undefined) {
    throw new UsageError(
      `${tensor}: the weights sum to zero, so they cannot be normalized; set normalize: false or change the weights`,
    );
  }
  const out =
    output !== undefined && output.length === models[0]!.length ? output : new Float32Array(models[0]!.length);
  return weightedSumInto(out, models, terms.weights, terms.scale);
}

/** The plain average: every model weighs the same. */
export function uniformAverage(models: readonly Float32Array[], tensor: string, output?: Float32Array): Float32Array {
  return weightedSum(
    models,
    models.map(() => 1),
    true,
    tensor,
    output,
  );
}

export const linear: MergeMethod = {
  id: "linear",
  mergekit: true,
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
  weightedSum: (input: MethodTerms) =>
    linearTerms(
      input.modelParams.map((p) => p.weight!),
      input.params.normalize as boolean,
    ),
  merge(input: MethodInput): Float32Array {
    const weights = input.modelParams.map((p) => p.weight!);
    return weightedSum(input.models, weights, input.params.normalize as boolean, input.tensor.name, input.output);
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
  weightedSum: (input: MethodTerms) =>
    linearTerms(
      input.modelParams.map(() => 1),
      true,
    ),
  merge(input: MethodInput): Float32Array {
    return uniformAverage(input.models, input.tensor.name, input.output);
  },
};
