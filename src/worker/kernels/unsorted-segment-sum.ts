// UnsortedSegmentSum (the gradient of gather, e.g. of Embedding) for backends without it: one pass over the rows,
// each added into its segment's row. Linear time and output-sized memory (a one-hot matrix product would need
// rows × segments).
import * as tf from "@tensorflow/tfjs";
import { asTensor } from "./windows.js";

export function unsortedSegmentSum(x: tf.Tensor, segmentIds: tf.Tensor, numSegments: number): tf.Tensor {
  const idRank = segmentIds.shape.length;
  const rowShape = x.shape.slice(idRank);
  const rowSize = rowShape.reduce((a, b) => a * b, 1);
  const ids = segmentIds.dataSync();
  const values = x.dataSync();
  const out = x.dtype === "int32" ? new Int32Array(numSegments * rowSize) : new Float32Array(numSegments * rowSize);
  for (let r = 0; r < ids.length; r++) {
    const segment = ids[r]!;
    // TensorFlow drops rows whose segment id is out of range.
    if (segment < 0 || segment >= numSegments) continue;
    const from = r * rowSize;
    const to = segment * rowSize;
    for (let k = 0; k < rowSize; k++) out[to + k] += values[from + k]!;
  }
  return tf.tensor(out, [numSegments, ...rowShape], x.dtype === "int32" ? "int32" : "float32");
}

export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: "UnsortedSegmentSum",
  backendName: "wasm",
  kernelFunc: ({ inputs, attrs }) =>
    tf.tidy(() =>
      unsortedSegmentSum(
        asTensor(inputs.x!),
        asTensor(inputs.segmentIds!),
        (attrs as unknown as { numSegments: number }).numSegments,
      ),
    ),
};
