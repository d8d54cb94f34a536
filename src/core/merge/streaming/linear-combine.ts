import { weightedSumAccumulator, weightedSumInto } from "../weighted-sum-kernel.js";
import type { CombineTensors } from "./types.js";

/**
 * out = w_0·x_0 + w_1·x_1 + ..., summed left to right in float64 and rounded to float32 once per element
 * (weightedSumInto), straight into the piece's output buffer.
 */
export function linearCombine(weights: readonly number[]): CombineTensors {
  const ws = [...weights];
  const acc = weightedSumAccumulator();
  return (tensors, info) => weightedSumInto(info.output, tensors, ws, 1, acc);
}
