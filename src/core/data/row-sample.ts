/**
 * At most `maxRows` rows of a data file (`--max-rows`): a seeded uniform sample, the same rows for the same file,
 * count and seed whatever the format. From an x.npy / y.npy pair only those rows are read (npy-stream.ts), so
 * memory is bounded by the sample, not the file; other formats are read whole, then sampled.
 */
import { UsageError } from "../errors.js";
import { mulberry32 } from "../random.js";

/** `count` distinct row indices of `total`, ascending (Floyd's algorithm: memory is the sample's, not `total`'s). */
export function sampleRowIndices(total: number, count: number, seed: number): Int32Array {
  if (!Number.isInteger(count) || count < 1)
    throw new UsageError(`--max-rows expects a whole number ≥ 1, not ${count}`);
  if (count >= total) return Int32Array.from({ length: total }, (_, i) => i);
  const random = mulberry32(seed ^ 0x5eed_0001);
  const chosen = new Set<number>();
  for (let j = total - count; j < total; j++) {
    const t = Math.floor(random() * (j + 1));
    chosen.add(chosen.has(t) ? j : t);
  }
  return Int32Array.from(chosen).sort();
}

/** The note every report shows for a sampled file. */
export function sampleNote(count: number, total: number, seed: number, bounded: boolean): string {
  return (
    `a seeded sample of ${count.toLocaleString("en-US")} of its ${total.toLocaleString("en-US")} rows ` +
    `(--max-rows ${count}, seed ${seed})` +
    (bounded ? ", read by offset: only those rows were read" : ", taken after reading the file whole")
  );
}
