/** The distribution of one tensor's values, for the model viewer: moments, range and a histogram. */
import type { TensorDistribution } from "../../protocol/worker.js";

/** Count, non-finite count, mean, population std and range of the finite values; float64 accumulation. */
export function finiteMoments(data: ArrayLike<number>): Omit<TensorDistribution, "histogram"> {
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
  const mean = count === 0 ? 0 : sum / count;
  return {
    count,
    nonFinite,
    mean,
    std: count === 0 ? 0 : Math.sqrt(Math.max(0, squares / count - mean * mean)),
    min: count === 0 ? 0 : min,
    max: count === 0 ? 0 : max,
  };
}

/**
 * Counts of the finite values in `bins` equal-width bins from `min` to `max` (the last bin closed); one bin when
 * min = max. Values outside the range are not counted.
 */
export function histogramOf(data: ArrayLike<number>, bins: number, min: number, max: number): number[] {
  const histogram = new Array<number>(min === max ? 1 : bins).fill(0);
  const scale = min === max ? 0 : bins / (max - min);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v) || v < min || v > max) continue;
    histogram[Math.min(histogram.length - 1, Math.floor((v - min) * scale))]!++;
  }
  return histogram;
}

/** One pass for the moments and range, one for the histogram. */
export function tensorDistribution(data: ArrayLike<number>, bins = 24): TensorDistribution {
  const moments = finiteMoments(data);
  const histogram = moments.count === 0 ? [] : histogramOf(data, bins, moments.min, moments.max);
  return { ...moments, histogram };
}
