/** The distribution of one tensor's values, for the model viewer: moments, range and a histogram. */
import type { TensorDistribution } from "../../protocol/worker.js";

/** One pass for the moments and range, one for the histogram; float64 accumulation. */
export function tensorDistribution(data: ArrayLike<number>, bins = 24): TensorDistribution {
  let count = 0;
  let nonFinite = 0;
  let sum = 0;
  let squares = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) {
      nonFinite++;
      continue;
    }
    count++;
    sum += v;
    squares += v * v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const histogram = new Array<number>(count === 0 ? 0 : min === max ? 1 : bins).fill(0);
  if (count > 0 && min !== max) {
    const scale = bins / (max - min);
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (Number.isFinite(v)) histogram[Math.min(bins - 1, Math.floor((v - min) * scale))]!++;
    }
  } else if (count > 0) histogram[0] = count;
  const mean = count === 0 ? 0 : sum / count;
  return {
    count,
    nonFinite,
    mean,
    std: count === 0 ? 0 : Math.sqrt(Math.max(0, squares / count - mean * mean)),
    min: count === 0 ? 0 : min,
    max: count === 0 ? 0 : max,
    histogram,
  };
}
