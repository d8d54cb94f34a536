/**
 * What "flat" means for a long-lived worker, measured after warm-up (one full round of the catalogue, so every
 * path has loaded its code, started its backend, grown the WebAssembly heaps it needs and opened its threads),
 * each sample taken between jobs after a full garbage collection:
 *
 * - TensorFlow.js tensors: after every job the live tensor count is back to its value at the end of warm-up
 *   (a job that leaves even one tensor behind fails this, whatever its size);
 * - open file descriptors: after every job exactly as many as at the end of warm-up (a model, data or output
 *   file left open, an h5wasm file not closed, a thread not ended);
 * - memory: resident memory (RSS) and the JavaScript heap in use, each compared as the median of the last window
 *   of samples minus the median of the first window after warm-up (medians, because RSS moves in a sawtooth of
 *   ~15 MiB as V8 and malloc take and give back pages), under `MAX_RSS_GROWTH_MIB` and `MAX_HEAP_GROWTH_MIB`; and,
 *   over at least `MIN_JOBS_FOR_SLOPE` jobs (the full soak; over fewer the sawtooth and V8's maturing code
 *   dominate a slope), the least-squares slope of each under `MAX_RSS_SLOPE_MIB_PER_100` and
 *   `MAX_HEAP_SLOPE_MIB_PER_100` MiB per 100 jobs.
 */

export const MAX_RSS_SLOPE_MIB_PER_100 = 8;
export const MAX_HEAP_SLOPE_MIB_PER_100 = 1;
export const MAX_RSS_GROWTH_MIB = 24;
export const MAX_HEAP_GROWTH_MIB = 4;
export const MIN_JOBS_FOR_SLOPE = 200;
/** Samples in the first and the last window of the growth comparison. */
export const WINDOW = 10;

export interface FlatSample {
  rssBytes: number;
  heapUsedBytes: number;
  numTensors: number;
  fds: number;
}

export interface Flatness {
  warmUpJobs: number;
  measuredJobs: number;
  rssWarmUpMiB: number;
  rssEndMiB: number;
  rssGrowthMiB: number;
  rssSlopeMiBPer100: number;
  rssMaxMiB: number;
  heapWarmUpMiB: number;
  heapEndMiB: number;
  heapGrowthMiB: number;
  heapSlopeMiBPer100: number;
  /** Whether the slopes were held to their limits (enough jobs measured). */
  slopesAsserted: boolean;
  tensorsWarmUp: number;
  tensorsAfterJobs: { min: number; max: number };
  fdsWarmUp: number;
  fdsAfterJobs: { min: number; max: number };
  /** What is not flat, empty when all is. */
  problems: string[];
}

const MiB = 1024 * 1024;

/** Slope of the least-squares line through (i, values[i]). */
export function leastSquaresSlope(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) return 0;
  const meanX = (n - 1) / 2;
  const meanY = values.reduce((s, v) => s + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  values.forEach((y, x) => {
    sxy += (x - meanX) * (y - meanY);
    sxx += (x - meanX) ** 2;
  });
  return sxy / sxx;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const range = (values: readonly number[]) => ({ min: Math.min(...values), max: Math.max(...values) });

export function flatness(samples: readonly FlatSample[], warmUpJobs: number): Flatness {
  const warm = samples[warmUpJobs - 1];
  const after = samples.slice(warmUpJobs);
  if (!warm || after.length < 2 * WINDOW)
    throw new Error(`flatness needs ${warmUpJobs} warm-up jobs and ${2 * WINDOW} after them; got ${samples.length}`);
  const rss = after.map((s) => s.rssBytes / MiB);
  const heap = after.map((s) => s.heapUsedBytes / MiB);
  const rssWarmUpMiB = median(rss.slice(0, WINDOW));
  const rssEndMiB = median(rss.slice(-WINDOW));
  const heapWarmUpMiB = median(heap.slice(0, WINDOW));
  const heapEndMiB = median(heap.slice(-WINDOW));
  const figures = {
    warmUpJobs,
    measuredJobs: after.length,
    rssWarmUpMiB,
    rssEndMiB,
    rssGrowthMiB: rssEndMiB - rssWarmUpMiB,
    rssSlopeMiBPer100: leastSquaresSlope(rss) * 100,
    rssMaxMiB: Math.max(...rss),
    heapWarmUpMiB,
    heapEndMiB,
    heapGrowthMiB: heapEndMiB - heapWarmUpMiB,
    heapSlopeMiBPer100: leastSquaresSlope(heap) * 100,
    slopesAsserted: after.length >= MIN_JOBS_FOR_SLOPE,
    tensorsWarmUp: warm.numTensors,
    tensorsAfterJobs: range(after.map((s) => s.numTensors)),
    fdsWarmUp: warm.fds,
    fdsAfterJobs: range(after.map((s) => s.fds)),
  };
  const problems: string[] = [];
  const firstOff = (key: "numTensors" | "fds") => after.findIndex((s) => s[key] !== warm[key]);
  const tensorsOff = firstOff("numTensors");
  if (tensorsOff >= 0)
    problems.push(
      `tensors: ${after[tensorsOff]!.numTensors} after job ${warmUpJobs + tensorsOff + 1}, ${warm.numTensors} at warm-up`,
    );
  const fdsOff = firstOff("fds");
  if (fdsOff >= 0)
    problems.push(`open files: ${after[fdsOff]!.fds} after job ${warmUpJobs + fdsOff + 1}, ${warm.fds} at warm-up`);
  for (const [what, slope, growth, start, end, maxSlope, maxGrowth] of [
    [
      "RSS",
      figures.rssSlopeMiBPer100,
      figures.rssGrowthMiB,
      rssWarmUpMiB,
      rssEndMiB,
      MAX_RSS_SLOPE_MIB_PER_100,
      MAX_RSS_GROWTH_MIB,
    ],
    [
      "heap",
      figures.heapSlopeMiBPer100,
      figures.heapGrowthMiB,
      heapWarmUpMiB,
      heapEndMiB,
      MAX_HEAP_SLOPE_MIB_PER_100,
      MAX_HEAP_GROWTH_MIB,
    ],
  ] as const) {
    if (figures.slopesAsserted && slope > maxSlope)
      problems.push(`${what} grows ${slope.toFixed(1)} MiB per 100 jobs (limit ${maxSlope})`);
    if (growth > maxGrowth)
      problems.push(
        `${what} ${end.toFixed(1)} MiB at the end, ${start.toFixed(1)} MiB after warm-up (limit +${maxGrowth})`,
      );
  }
  return { ...figures, problems };
}
