/**
 * out[j] = (w_0·x_0[j] + w_1·x_1[j] + ...) · scale, summed left to right in float64 and rounded to float32 once
 * per element: the one loop behind every weighted average (linear, uniform, the streamed linear merge).
 */

/** out = Σ weights[i]·x_i · scale: what a weighted average is, for the kernels that compute one. */
export interface WeightedSumTerms {
  weights: number[];
  scale: number;
}

/** Elements per call: small enough that a float64 accumulator stays in cache, many calls so V8 optimises early. */
const CHUNK = 8192;

type Target = Float32Array | Float64Array;

/**
 * target[at + j] = (accumulate ? target[at + j] : first product) + the following products, for up to four inputs
 * in one pass, times `scale` when given (only on the last group).
 */
function fusedGroup(
  target: Target,
  at: number,
  xs: readonly Float32Array[],
  ws: readonly number[],
  from: number,
  start: number,
  len: number,
  accumulate: boolean,
  scale: number,
): void {
  const size = Math.min(4, xs.length - from);
  const a = xs[from]!,
    b = xs[from + 1]!,
    c = xs[from + 2]!,
    d = xs[from + 3]!;
  const wa = ws[from]!,
    wb = ws[from + 1]!,
    wc = ws[from + 2]!,
    wd = ws[from + 3]!;
  if (accumulate) {
    switch (size) {
      case 4:
        for (let j = 0; j < len; j++)
          target[at + j] =
            (target[at + j]! + wa * a[start + j]! + wb * b[start + j]! + wc * c[start + j]! + wd * d[start + j]!) *
            scale;
        return;
      case 3:
        for (let j = 0; j < len; j++)
          target[at + j] = (target[at + j]! + wa * a[start + j]! + wb * b[start + j]! + wc * c[start + j]!) * scale;
        return;
      case 2:
        for (let j = 0; j < len; j++)
          target[at + j] = (target[at + j]! + wa * a[start + j]! + wb * b[start + j]!) * scale;
        return;
      default:
        for (let j = 0; j < len; j++) target[at + j] = (target[at + j]! + wa * a[start + j]!) * scale;
        return;
    }
  }
  switch (size) {
    case 4:
      for (let j = 0; j < len; j++)
        target[at + j] = (wa * a[start + j]! + wb * b[start + j]! + wc * c[start + j]! + wd * d[start + j]!) * scale;
      return;
    case 3:
      for (let j = 0; j < len; j++)
        target[at + j] = (wa * a[start + j]! + wb * b[start + j]! + wc * c[start + j]!) * scale;
      return;
    case 2:
      for (let j = 0; j < len; j++) target[at + j] = (wa * a[start + j]! + wb * b[start + j]!) * scale;
      return;
    default:
      for (let j = 0; j < len; j++) target[at + j] = wa * a[start + j]! * scale;
      return;
  }
}

/**
 * Writes Σ w_i·x_i (times `scale`) into `out`. Up to four inputs are fused in one pass straight into the output;
 * more go through a float64 accumulator chunk. The work is cut into many short calls even when one pass would
 * do: V8 optimises a function after a few calls, while one long first call (a 125 MiB embedding) would run
 * almost entirely in the unoptimised tiers, about 30x slower. Multiplying by a scale of 1 is exact, so a plain
 * weighted sum has the same bytes whether or not a scale is given.
 */
export function weightedSumInto(
  out: Float32Array,
  xs: readonly Float32Array[],
  ws: readonly number[],
  scale = 1,
  accumulator?: Float64Array,
): Float32Array {
  const n = out.length;
  if (xs.length <= 4) {
    for (let start = 0; start < n; start += CHUNK)
      fusedGroup(out, start, xs, ws, 0, start, Math.min(CHUNK, n - start), false, scale);
    return out;
  }
  const acc = accumulator !== undefined && accumulator.length >= CHUNK ? accumulator : new Float64Array(CHUNK);
  for (let start = 0; start < n; start += CHUNK) {
    const len = Math.min(CHUNK, n - start);
    fusedGroup(acc, 0, xs, ws, 0, start, len, false, 1);
    for (let from = 4; from < xs.length; from += 4)
      fusedGroup(acc, 0, xs, ws, from, start, len, true, from + 4 >= xs.length ? scale : 1);
    for (let j = 0; j < len; j++) out[start + j] = acc[j]!;
  }
  return out;
}

/** A float64 accumulator of the size weightedSumInto uses, for callers that run it many times. */
export function weightedSumAccumulator(): Float64Array {
  return new Float64Array(CHUNK);
}
