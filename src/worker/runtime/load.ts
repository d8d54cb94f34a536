import * as tf from "@tensorflow/tfjs";
import { ModelFileError } from "../../core/errors.js";
import type { ModelFile } from "../../core/model.js";
import { formatShape, sameShape } from "../../core/tensor.js";
import type { WeightBinding } from "./bind.js";

/**
 * Writes every variable of `model` from the file's tensor bound to it (any format; read as float32). The
 * file may be another model of the same architecture with the same tensor names.
 */
export async function loadWeights(
  model: tf.LayersModel,
  bindings: readonly WeightBinding[],
  file: ModelFile,
): Promise<void> {
  if (bindings.length !== model.weights.length) {
    throw new Error(`internal: ${bindings.length} weight bindings for a model with ${model.weights.length} variables`);
  }
  for (const { variable, tensor } of bindings) {
    const read = await file.readTensor(tensor, { float32: true });
    if (!sameShape(read.shape, variable.shape as number[])) {
      throw new ModelFileError(
        file.manifest.path,
        `weight "${tensor}" has shape ${formatShape(read.shape)}; expected ${formatShape(variable.shape as number[])}`,
      );
    }
    const data = variable.dtype === "int32" ? Int32Array.from(read.data as Float32Array) : (read.data as Float32Array);
    const value = tf.tensor(data, read.shape, variable.dtype);
    variable.write(value);
    value.dispose();
  }
}
