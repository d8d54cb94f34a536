import type { CombineTensors } from "./types.js";

const CHUNK = 8192;

/**
 * out = Σ_k w_k · x_k, summed left to right in float64 and rounded to float32 once per element. Worked in
 * chunks so the float64 accumulator stays in cache while each input is streamed through it.
 */
export function linearCombine(weights: readonly number[]): CombineTensors {
  const acc = new Float64Array(CHUNK);
  return (tensors, info) => {
    const out = info.output;
    const n = out.length;
    for (let start = 0; start < n; start += CHUNK) {
      const end = Math.min(n, start + CHUNK);
      const len = end - start;
      const first = tensors[0]!;
      const w0 = weights[0]!;
      for (let j = 0; j < len; j++) acc[j] = w0 * first[start + j]!;
      for (let k = 1; k < tensors.length; k++) {
        const x = tensors[k]!;
        const w = weights[k]!;
        for (let j = 0; j < len; j++) acc[j] += w * x[start + j]!;
      }
      for (let j = 0; j < len; j++) out[start + j] = acc[j]!;
    }
    return out;
  };
}
