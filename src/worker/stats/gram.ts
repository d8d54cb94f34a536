/**
 * RegMean's statistics: for every linear map of a model (Dense kernels; Conv2D kernels over im2col patches), the
 * Gram matrix XᵀX of the map's inputs on data. Each batch's product is taken on the TF.js backend (float32) and
 * added into a float64 accumulator, so the sum over batches does not drift.
 */
import * as tf from "@tensorflow/tfjs";
import type { Cancellation } from "../../core/cancellation.js";
import { ranges, sliceRows } from "../learn/batches.js";
import { nextStep } from "../learn/yield.js";
import { conv2dGeometry, conv2dPatches, type Conv2DGeometry } from "./patches.js";

/** A layer whose kernel RegMean merges: its input is what the Gram matrix is taken of. */
export interface LinearMap {
  layer: tf.layers.Layer;
  /** The kernel variable (matched to a manifest tensor by the caller). */
  kernel: tf.LayerVariable;
  /** Rows of the kernel as a matrix: inputs of a Dense, kh·kw·cin of a Conv2D. */
  inputs: number;
  conv?: Conv2DGeometry;
}

/** Elements of one patch matrix handled at once (bounds the memory of a convolution's im2col). */
const PATCH_ELEMENTS = 1 << 22;

/**
 * The model's Dense and Conv2D layers whose input can be read (a layer applied once), and notes on the layers
 * left to the plain average for another reason.
 */
export function linearMaps(model: tf.LayersModel): { maps: LinearMap[]; notes: string[] } {
  const maps: LinearMap[] = [];
  const notes: string[] = [];
  for (const layer of model.layers) {
    const className = layer.getClassName();
    if (className !== "Dense" && className !== "Conv2D") continue;
    const kernel = (layer as unknown as { kernel?: tf.LayerVariable }).kernel;
    if (kernel === undefined) continue;
    if (layer.inboundNodes.length !== 1) {
      notes.push(`layer "${layer.name}" is applied ${layer.inboundNodes.length} times; its kernel is plainly averaged`);
      continue;
    }
    const shape = kernel.shape as number[];
    try {
      maps.push({
        layer,
        kernel,
        inputs: shape.slice(0, -1).reduce((a, b) => a * b, 1),
        ...(className === "Conv2D" ? { conv: conv2dGeometry(layer) } : {}),
      });
    } catch (error) {
      notes.push(`${(error as Error).message}; its kernel is plainly averaged`);
    }
  }
  return { maps, notes };
}

/** The rows a linear map sees for one batch of its layer input: [rows, inputs]. */
function mapInputs(map: LinearMap, input: tf.Tensor): tf.Tensor2D[] {
  if (map.conv === undefined) return [input.reshape([-1, map.inputs]) as tf.Tensor2D];
  // A convolution's patches outnumber its input many times: take them a few images at a time.
  const [b, h, w] = input.shape as number[];
  const perImage = Math.max(1, (h! * w! * map.inputs) / (map.conv.strides[0] * map.conv.strides[1]));
  const step = Math.max(1, Math.floor(PATCH_ELEMENTS / perImage));
  return ranges(b!, step).map(([s, e]) =>
    tf.tidy(() => conv2dPatches(sliceRows(input, s, e) as tf.Tensor4D, map.conv!)),
  );
}

/**
 * XᵀX of every map's inputs over all rows of x (float64, d×d row-major), running the model's current weights in
 * inference mode; yields to the event loop before each batch.
 */
export async function gramMatrices(
  model: tf.LayersModel,
  maps: readonly LinearMap[],
  x: tf.Tensor,
  batchSize: number,
  cancel?: Cancellation,
): Promise<Float64Array[]> {
  const grams = maps.map((m) => new Float64Array(m.inputs * m.inputs));
  if (maps.length === 0) return grams;
  const probe = tf.model({ inputs: model.inputs, outputs: maps.map((m) => m.layer.input as tf.SymbolicTensor) });
  for (const [start, end] of ranges(x.shape[0]!, batchSize)) {
    await nextStep(cancel);
    const batch = sliceRows(x, start, end);
    const outputs = probe.predict(batch) as tf.Tensor | tf.Tensor[];
    const inputs = Array.isArray(outputs) ? outputs : [outputs];
    try {
      maps.forEach((map, k) => {
        for (const rows of mapInputs(map, inputs[k]!)) {
          const product = tf.tidy(() => tf.matMul(rows, rows, true, false));
          const values = product.dataSync();
          tf.dispose([rows, product]);
          const g = grams[k]!;
          for (let i = 0; i < values.length; i++) g[i]! += values[i]!;
        }
      });
    } finally {
      tf.dispose([batch, ...inputs]);
    }
  }
  return grams;
}
