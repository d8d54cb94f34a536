import * as tf from "@tensorflow/tfjs";
import { ModelFileError } from "../../core/errors.js";
import { toTfjsTopology } from "../../core/keras/to-tfjs.js";
import type { ModelManifest } from "../../core/model.js";

/**
 * An executable tfjs-layers model of the manifest's architecture. Its weights are placeholders (zeros)
 * until `loadWeights` fills them from a model file.
 */
export async function buildModel(manifest: ModelManifest): Promise<tf.LayersModel> {
  if (!manifest.architecture) {
    throw new ModelFileError(manifest.path, `records no architecture (${manifest.format}), so it cannot be run`);
  }
  const modelTopology = toTfjsTopology(manifest.architecture, manifest.path);
  try {
    return await tf.models.modelFromJSON({ modelTopology } as unknown as tf.io.ModelJSON);
  } catch (error) {
    throw new ModelFileError(manifest.path, `TF.js could not build its architecture: ${(error as Error).message}`);
  }
}
