// Seeded shuffling and batch extraction.
import * as tf from "@tensorflow/tfjs";

/** mulberry32: a small, fast, seedable generator (reproducible splits and batch orders). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffledIndices(n: number, random: () => number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** Consecutive index ranges [start, end) covering n samples. */
export function ranges(n: number, batchSize: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let s = 0; s < n; s += batchSize) out.push([s, Math.min(n, s + batchSize)]);
  return out;
}

export function sliceRows(t: tf.Tensor, start: number, end: number): tf.Tensor {
  return tf.slice(t, [start], [end - start]);
}

export function gatherRows(t: tf.Tensor, indices: Int32Array): tf.Tensor {
  return tf.tidy(() => tf.gather(t, tf.tensor1d(indices, "int32")));
}
