// Batch extraction from tensors (the seeded shuffling itself is in indices.ts, which needs no TensorFlow.js).
import * as tf from "@tensorflow/tfjs";
import type { Cancellation } from "../../core/cancellation.js";
import type { SoupData } from "./problem.js";
import { nextStep } from "./yield.js";

export { ranges, shuffledIndices } from "./indices.js";
import { ranges } from "./indices.js";

export function sliceRows(t: tf.Tensor, start: number, end: number): tf.Tensor {
  return tf.slice(t, [start], [end - start]);
}

export function gatherRows(t: tf.Tensor, indices: Int32Array): tf.Tensor {
  return tf.tidy(() => tf.gather(t, tf.tensor1d(indices, "int32")));
}

/**
 * Elements (of x) gathered at once by epochBatches. A gather is one kernel call whatever its size, while a slice
 * on the wasm backend reads its whole input: a bounded chunk keeps both costs small.
 */
const CHUNK_ELEMENTS = 1 << 20;

export interface Batch {
  readonly x: tf.Tensor;
  readonly y?: tf.Tensor;
  /** Position in the epoch just past this batch (n at the epoch's last batch). */
  readonly end: number;
}

/**
 * The mini-batches of one epoch in the given order: the rows of order[start, end) per batch, as gathering them
 * batch by batch would give, but gathered several batches at a time and sliced. Yields to the event loop (and
 * honours `cancel`) before each batch; each batch's tensors are disposed when the consumer moves on.
 */
export async function* epochBatches(
  data: SoupData,
  order: Int32Array,
  batchSize: number,
  cancel?: Cancellation,
): AsyncGenerator<Batch, void, undefined> {
  const n = order.length;
  const rowElements = n === 0 ? 1 : Math.max(1, data.x.size / data.x.shape[0]!);
  const chunkRows = batchSize * Math.max(1, Math.floor(CHUNK_ELEMENTS / (batchSize * rowElements)));
  for (let chunkStart = 0; chunkStart < n; chunkStart += chunkRows) {
    const rows = order.subarray(chunkStart, Math.min(n, chunkStart + chunkRows));
    const chunk = [gatherRows(data.x, rows), data.y === undefined ? undefined : gatherRows(data.y, rows)] as const;
    try {
      for (const [start, end] of ranges(rows.length, batchSize)) {
        await nextStep(cancel);
        const x = sliceRows(chunk[0], start, end);
        const y = chunk[1] === undefined ? undefined : sliceRows(chunk[1], start, end);
        try {
          yield { x, y, end: chunkStart + end };
        } finally {
          tf.dispose([x, y].filter((t): t is tf.Tensor => t !== undefined));
        }
      }
    } finally {
      tf.dispose(chunk.filter((t): t is tf.Tensor => t !== undefined));
    }
  }
}
