import * as tf from "@tensorflow/tfjs";
import type { Architecture } from "../../core/model.js";

/**
 * The index, in the Keras outputs list, of the model's final output: the last output that no layer consumes.
 * Converters such as tensorspace's expose every intermediate layer as an output (7 for its LeNet); the
 * prediction is the one at the end of the graph.
 */
export function finalOutputIndex(architecture: Architecture): number {
  const consumed = new Set(architecture.layers.flatMap((l) => l.inbound));
  for (let i = architecture.outputs.length - 1; i >= 0; i--) {
    if (!consumed.has(architecture.outputs[i]!)) return i;
  }
  return Math.max(0, architecture.outputs.length - 1);
}

/** The same layers and variables, with only the final output (a view; disposing it keeps the weights). */
export function finalOutputModel(model: tf.LayersModel, architecture: Architecture): tf.LayersModel {
  if (model.outputs.length === 1) return model;
  return tf.model({ inputs: model.inputs, outputs: model.outputs[finalOutputIndex(architecture)]! });
}
