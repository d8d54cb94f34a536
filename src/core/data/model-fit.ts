/**
 * Whether a dataset fits a model, judged from the model file's architecture alone (no model is run): the
 * extension host checks data as soon as it is chosen, the worker checks again with the built model.
 */
import { declaredInputShape } from "../architecture/layer-config.js";
import type { ModelManifest } from "../model.js";
import { checkAgainstInput, type CheckedDataset } from "./check.js";
import type { Dataset } from "./dataset.js";

export interface ModelInterface {
  /** Batch dimension included ([null, 64]). */
  inputShape: (number | null)[];
  /** [null, units] of the last layer that declares units; absent when the file does not say. */
  outputShape?: (number | null)[];
}

/** The input shape and output width a model's architecture declares; undefined without an architecture (safetensors). */
export function modelInterface(manifest: Pick<ModelManifest, "architecture">): ModelInterface | undefined {
  const layers = manifest.architecture?.layers;
  if (!layers || layers.length === 0) return undefined;
  let inputShape: (number | null)[] | undefined;
  for (const layer of layers) {
    inputShape = declaredInputShape(layer.config);
    if (inputShape) break;
  }
  if (!inputShape) return undefined;
  // The output width: the last layer with `units` (Dense); layers after it (activations, dropout) keep the width.
  const last = [...layers].reverse().find((l) => typeof l.config.units === "number");
  const reshapes = last
    ? layers.slice(layers.indexOf(last) + 1).some((l) => /Reshape|Flatten|Conv|Pool|Concatenate/.test(l.className))
    : true;
  return { inputShape, ...(last && !reshapes ? { outputShape: [null, last.config.units as number] } : {}) };
}

/**
 * Checks the dataset against the model's declared input and output (see checkAgainstInput); labels are
 * checked only when the output width is known. Returns undefined when the file declares no input.
 */
export function checkDataFitsModel(
  dataset: Dataset,
  manifest: Pick<ModelManifest, "architecture">,
  file = dataset.source,
): CheckedDataset | undefined {
  const shape = modelInterface(manifest);
  if (!shape) return undefined;
  if (shape.outputShape) return checkAgainstInput(dataset, shape.inputShape, shape.outputShape, file);
  const { y: _labels, ...inputsOnly } = dataset;
  return checkAgainstInput(inputsOnly as Dataset, shape.inputShape, [], file);
}
