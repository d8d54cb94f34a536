import { join } from "node:path";
import { ModelFileError } from "../../errors.js";
import { makeTempFolder } from "../../io/temp-files.js";
import { architectureOrWeightsOnly } from "../weights-only.js";
import type { ModelManifest } from "../../model.js";
import type { TensorInfo } from "../../tensor.js";
import { checkLayerShapes, requireLayerWeights } from "../../keras/layer-shapes.js";
import { type DatasetInfo, datasetInfo } from "../hdf5/datasets.js";
import { type H5File, fileSize, hdf5Reason, openHdf5 } from "../hdf5/open.js";
import { type Hdf5Tree, h5wasmTree } from "../hdf5/tree.js";
import { type LayerGroup, childOrder, datasetsUnder, isGroupAt, layerGroups, missingGroup } from "./layout.js";
import { type ZipEntry, ZipArchive, extractZipEntry } from "../../io/zip.js";
import { checkJsonBytes, parseBoundedJson } from "../limits.js";

export const CONFIG_ENTRY = "config.json";
export const METADATA_ENTRY = "metadata.json";
export const WEIGHTS_ENTRY = "model.weights.h5";

export interface KerasArchive {
  entries: ZipEntry[];
  weights: ZipEntry;
  config: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

function parseJsonEntry(file: string, name: string, bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseBoundedJson(file, `a ${name}`, new TextDecoder().decode(bytes));
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    throw new ModelFileError(file, `has a ${name} that is not valid JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ModelFileError(file, `has a ${name} that is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Reads the archive's directory, config.json and metadata.json (small), refusing an archive that lacks a part. */
export async function readKerasArchive(file: string): Promise<KerasArchive> {
  const zip = ZipArchive.open(file);
  try {
    return kerasArchiveOf(file, zip);
  } finally {
    zip.close();
  }
}

function kerasArchiveOf(file: string, zip: ZipArchive): KerasArchive {
  const entries = zip.entries;
  const find = (name: string) => entries.find((e) => e.name === name);
  const expected = "expected a Keras 3 .keras zip holding config.json, metadata.json and model.weights.h5";
  const configEntry = find(CONFIG_ENTRY);
  if (!configEntry) throw new ModelFileError(file, `has no config.json; ${expected}`);
  const weights = find(WEIGHTS_ENTRY);
  if (!weights) {
    const npz = find("model.weights.npz")
      ? " (its weights are in model.weights.npz, which Model Soup does not read)"
      : "";
    throw new ModelFileError(file, `has no model.weights.h5${npz}; ${expected}`);
  }
  const metadataEntry = find(METADATA_ENTRY);
  for (const entry of [configEntry, metadataEntry]) if (entry) checkJsonBytes(file, `a ${entry.name}`, entry.size);
  const config = parseJsonEntry(file, CONFIG_ENTRY, zip.read(configEntry));
  const metadata = metadataEntry ? parseJsonEntry(file, METADATA_ENTRY, zip.read(metadataEntry)) : {};
  return { entries, weights, config, metadata };
}

export interface ExtractedWeights {
  path: string;
  remove(): Promise<void>;
}

/** HDF5 needs a file of its own: model.weights.h5 is copied out of the zip into a private temporary folder. */
export async function extractWeights(file: string, archive: KerasArchive): Promise<ExtractedWeights> {
  const { path: folder, remove } = await makeTempFolder("keras");
  try {
    const path = join(folder, WEIGHTS_ENTRY);
    await extractZipEntry(file, archive.weights, path);
    return { path, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

export interface KerasZipContents {
  manifest: ModelManifest;
  datasets: Map<string, DatasetInfo>;
}

/** Every weight group of model.weights.h5 in saving order, for a model whose config lists no layers. */
function weightGroups(h5: Hdf5Tree): LayerGroup[] {
  if (!isGroupAt(h5, "layers")) return [];
  return childOrder(h5.keys("layers")).map((key) => ({ layer: key, className: "", path: `layers/${key}` }));
}

/** Builds the manifest from config.json and the datasets' headers in model.weights.h5 (`bytes` long). */
export async function readKerasWeights(
  file: string,
  archive: KerasArchive,
  h5: Hdf5Tree,
  bytes: number,
): Promise<KerasZipContents> {
  const kerasVersion = typeof archive.metadata.keras_version === "string" ? archive.metadata.keras_version : undefined;
  const warnings: string[] = [];
  const architecture = architectureOrWeightsOnly(file, "config.json", archive.config, kerasVersion, warnings);
  if (!archive.entries.some((e) => e.name === METADATA_ENTRY)) warnings.push("the archive has no metadata.json");
  const tensors: TensorInfo[] = [];
  const datasets = new Map<string, DatasetInfo>();
  const add = (path: string, layer: string): TensorInfo => {
    let info: DatasetInfo;
    try {
      info = datasetInfo(h5, path, file, bytes);
    } catch (error) {
      if (error instanceof ModelFileError) throw new ModelFileError(file, `model.weights.h5: ${error.expected}`);
      throw new ModelFileError(file, `model.weights.h5: cannot read "${path}" (${hdf5Reason(error)})`);
    }
    const tensor: TensorInfo = { name: path, shape: info.shape, dtype: info.dtype, layer };
    datasets.set(path, info);
    tensors.push(tensor);
    return tensor;
  };
  const own = isGroupAt(h5, "vars") ? datasetsUnder(file, h5, { layer: "", className: "", path: "vars" }) : [];
  for (const path of own) add(path, "");
  const groups = architecture ? layerGroups(archive.config, "") : weightGroups(h5);
  for (const group of groups) {
    if (!isGroupAt(h5, group.path)) throw missingGroup(file, group);
    const layerTensors = datasetsUnder(file, h5, group).map((p) => add(p, group.layer));
    const spec = architecture?.layers.find((l) => l.name === group.layer);
    if (spec) {
      spec.weights = layerTensors.map((t) => t.name);
      checkLayerShapes(file, spec, layerTensors);
    }
  }
  if (architecture) requireLayerWeights(file, architecture.layers);
  if (isGroupAt(h5, "layers")) {
    const known = new Set(groups.map((g) => g.path));
    for (const key of h5.keys("layers")) {
      if (!known.has(`layers/${key}`))
        warnings.push(`model.weights.h5 has a group "layers/${key}" that no layer of config.json explains`);
    }
  }
  const metadata: Record<string, unknown> = { ...archive.metadata };
  if (isGroupAt(h5, "optimizer")) metadata.optimizer_state = true;
  const manifest: ModelManifest = {
    path: file,
    format: "keras",
    files: [file],
    architecture,
    tensors,
    metadata,
    warnings,
  };
  if (archive.config.compile_config !== undefined && archive.config.compile_config !== null) {
    manifest.trainingConfig = archive.config.compile_config;
  }
  return { manifest, datasets };
}

/** Opens the archive's weights (extracted) and reads the manifest; the caller closes `h5` and removes the copy. */
export async function openKerasArchive(
  file: string,
): Promise<{ archive: KerasArchive; weights: ExtractedWeights; h5: H5File; contents: KerasZipContents }> {
  const archive = await readKerasArchive(file);
  const weights = await extractWeights(file, archive);
  let h5: H5File | undefined;
  try {
    h5 = await openHdf5(weights.path, "r").catch((error: unknown) => {
      throw error instanceof ModelFileError ? new ModelFileError(file, `model.weights.h5 ${error.expected}`) : error;
    });
    const contents = await readKerasWeights(file, archive, h5wasmTree(h5), await fileSize(weights.path)).catch(
      (error: unknown) => {
        if (error instanceof ModelFileError) throw error;
        throw new ModelFileError(file, `model.weights.h5 cannot be read (${hdf5Reason(error)})`);
      },
    );
    return { archive, weights, h5, contents };
  } catch (error) {
    h5?.close();
    await weights.remove();
    throw error;
  }
}
