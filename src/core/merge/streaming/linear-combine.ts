import type { CombineTensors } from "./types.js";

const CHUNK = 8192;

type Target = Float32Array | Float64Array;

/**
 * target[j] = (accumulate ? target[j] : first product) + the following products, for up to four inputs in
 * one pass. Sums run left to right in float64, so storing into a Float32Array rounds once per element.
 */
function fusedGroup(target: Target, at: number, xs: Float32Array[], ws: number[], from: number, start: number, len: number, accumulate: boolean): void {
  const size = Math.min(4, xs.length - from);
  const a = xs[from]!, b = xs[from + 1]!, c = xs[from + 2]!, d = xs[from + 3]!;
  const wa = ws[from]!, wb = ws[from + 1]!, wc = ws[from + 2]!, wd = ws[from + 3]!;
  if (accumulate) {
    switch (size) {
      case 4: for (let j = 0; j < len; j++) target[at + j] = target[at + j]! + wa * a[start + j]! + wb * b[start + j]! + wc * c[start + j]! + wd * d[start + j]!; return;
      case 3: for (let j = 0; j < len; j++) target[at + j] = target[at + j]! + wa * a[start + j]! + wb * b[start + j]! + wc * c[start + j]!; return;
      case 2: for (let j = 0; j < len; j++) target[at + j] = target[at + j]! + wa * a[start + j]! + wb * b[start + j]!; return;
      default: for (let j = 0; j < len; j++) target[at + j] = target[at + j]! + wa * a[start + j]!; return;
    }
  }
  switch (size) {
    case 4: for (let j = 0; j < len; j++) target[at + j] = wa * a[start + j]! + wb * b[start + j]! + wc * c[start + j]! + wd * d[start + j]!; return;
    case 3: for (let j = 0; j < len; j++) target[at + j] = wa * a[start + j]! + wb * b[start + j]! + wc * c[start + j]!; return;
    case 2: for (let j = 0; j < len; j++) target[at + j] = wa * a[start + j]! + wb * b[start + j]!; return;
    default: for (let j = 0; j < len; j++) target[at + j] = wa * a[start + j]!; return;
  }
}

/**
 * out = w_0·x_0 + w_1·x_1 + ..., summed left to right in float64 and rounded to float32 once per element.
 * Up to four inputs are fused in one pass straight into the output; more go through a float64 accumulator
 * chunk small enough to stay in cache. The work is cut into many short calls even when one pass would do:
 * V8 optimises a function after a few calls, while one long first call (a 125 MiB embedding) would run
 * almost entirely in the unoptimised tiers, about 30x slower.
 */
export function linearCombine(weights: readonly number[]): CombineTensors {
  const ws = [...weights];
  const acc = new Float64Array(CHUNK);
  return (tensors, info) => {
    const out = info.output;
    const n = out.length;
    if (tensors.length <= 4) {
      for (let start = 0; start < n; start += CHUNK) fusedGroup(out, start, tensors, ws, 0, start, Math.min(CHUNK, n - start), false);
      return out;
    }
    for (let start = 0; start < n; start += CHUNK) {
      const len = Math.min(CHUNK, n - start);
      fusedGroup(acc, 0, tensors, ws, 0, start, len, false);
      for (let from = 4; from < tensors.length; from += 4) fusedGroup(acc, 0, tensors, ws, from, start, len, true);
      for (let j = 0; j < len; j++) out[start + j] = acc[j]!;
    }
    return out;
  };
}
