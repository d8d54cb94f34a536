/**
 * The files the Merge panel lets the user add besides the data: the architecture that rebuilds weights-only
 * checkpoints, and the user's own test rows. Each is checked when chosen, so a wrong file shows before Start. No
 * vscode: tested on its own (test/host/panel-files.test.ts).
 */
import { extname } from "node:path";
import { compareManifests } from "../core/architecture/index.js";
import { checkDataFitsModel, loadDataset, modelInterface, sampleCount } from "../core/data/index.js";
import { detectFormat } from "../core/formats/registry.js";
import type { ModelManifest } from "../core/model.js";

/** What the open dialog for an architecture offers. */
export const ARCHITECTURE_FILTERS = { "Model files": ["keras", "h5", "hdf5", "json"], "All files": ["*"] };

/**
 * The architecture file's manifest when it is a model file with an architecture whose weights match the
 * ingredient's; undefined for another JSON (a bare topology: the worker reads it on Start). Throws an Error whose
 * message names the file and what was expected.
 */
export async function checkArchitectureFile(
  path: string,
  ingredient: ModelManifest,
): Promise<ModelManifest | undefined> {
  let format;
  try {
    format = await detectFormat(path);
  } catch (error) {
    if (extname(path).toLowerCase() === ".json") return undefined;
    throw error;
  }
  const manifest = await format.readManifest(path);
  if (!manifest.architecture) {
    throw new Error(
      `${path} records no architecture either: expected a full model file (.keras, .h5 saved with its model, model.json) or a topology JSON`,
    );
  }
  const comparison = compareManifests(manifest, ingredient, { a: path, b: ingredient.path });
  if (comparison.status === "incompatible") {
    throw new Error(`${path} does not hold the ingredients' weights layout: ${comparison.reason}`);
  }
  return manifest;
}

/**
 * The number of rows of the user's test file, read with the data's label column and checked against the input and
 * output the models declare (when `shapeFrom` records them). Throws an Error naming the file.
 */
export async function checkTestRows(
  path: string,
  label: string | undefined,
  shapeFrom: ModelManifest | undefined,
): Promise<number> {
  const inputShape = shapeFrom ? modelInterface(shapeFrom)?.inputShape : undefined;
  const dataset = await loadDataset(path, { ...(label ? { label } : {}), ...(inputShape ? { inputShape } : {}) });
  if (shapeFrom) checkDataFitsModel(dataset, shapeFrom, path);
  return sampleCount(dataset);
}
