import { ModelFileError } from "../../errors.js";
import type { Architecture, ModelManifest } from "../../model.js";
import type { TensorInfo } from "../../tensor.js";
import { hasAttribute, readStringAttribute, readStringListAttribute } from "./attributes.js";
import { checkLayerShapes, requireLayerWeights } from "../../keras/layer-shapes.js";
import { architectureOrWeightsOnly } from "../weights-only.js";
import { type DatasetInfo, datasetInfo } from "../hdf5/datasets.js";
import type { Hdf5Tree } from "../hdf5/tree.js";
import { findSiblingTopology } from "./topology.js";
import { parseBoundedJson } from "../limits.js";
import { childOrder, datasetsUnder } from "../keras-zip/layout.js";
import { KERAS3_WEIGHTS_KIND } from "../weights-layout.js";

export type KerasH5Kind = "full-model" | "weights-only" | typeof KERAS3_WEIGHTS_KIND;

export interface KerasH5Contents {
  manifest: ModelManifest;
  datasets: Map<string, DatasetInfo>;
  kind: KerasH5Kind;
}

/** Keras 3 keeps weights that belong to no layer (rare) in this group, outside layer_names. */
const TOP_LEVEL_WEIGHTS = "top_level_model_weights";

interface LayerWeights {
  layer: string;
  weightNames: string[];
}

function parseJsonAttribute(path: string, file: Hdf5Tree, name: string): unknown {
  const text = readStringAttribute(file, "/", name);
  if (text === undefined) return undefined;
  try {
    return parseBoundedJson(path, `a "${name}" attribute`, text);
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    throw new ModelFileError(
      path,
      `has a "${name}" attribute that is not valid JSON; expected a Keras ${name.replace("_", " ")}`,
    );
  }
}

function isGroup(file: Hdf5Tree, path: string): boolean {
  return file.kind(path) === "group";
}

function readLayerWeights(path: string, file: Hdf5Tree, root: string): LayerWeights[] {
  const base = root === "/" ? "" : root;
  if (!isGroup(file, root)) throw new ModelFileError(path, `has no "${root}" group`);
  const layerNames = readStringListAttribute(file, root, "layer_names");
  if (!layerNames)
    throw new ModelFileError(path, `has no layer_names attribute on "${root}"; expected a Keras weights group`);
  const layers = [...layerNames];
  if (isGroup(file, `${base}/${TOP_LEVEL_WEIGHTS}`) && !layers.includes(TOP_LEVEL_WEIGHTS))
    layers.push(TOP_LEVEL_WEIGHTS);
  return layers.map((layer) => {
    if (!isGroup(file, `${base}/${layer}`)) {
      throw new ModelFileError(path, `lists layer "${layer}" in layer_names, but has no group "${base}/${layer}"`);
    }
    const weightNames = readStringListAttribute(file, `${base}/${layer}`, "weight_names");
    if (!weightNames) throw new ModelFileError(path, `has no weight_names attribute on layer group "${base}/${layer}"`);
    return { layer, weightNames };
  });
}

/** Tensor names are the weight_names entries; a name two layers share is prefixed by its layer to stay unique. */
function tensorNames(layers: LayerWeights[]): Map<string, string> {
  const count = new Map<string, number>();
  for (const l of layers) for (const w of l.weightNames) count.set(w, (count.get(w) ?? 0) + 1);
  const names = new Map<string, string>();
  for (const l of layers)
    for (const w of l.weightNames) names.set(`${l.layer}\u0000${w}`, count.get(w)! > 1 ? `${l.layer}/${w}` : w);
  return names;
}

/** Orders layers as the architecture does (topological), then any the architecture lacks, in file order. */
function orderLayers(layers: LayerWeights[], architecture?: Architecture): LayerWeights[] {
  if (!architecture) return layers;
  const position = new Map(architecture.layers.map((l, i) => [l.name, i]));
  return [...layers].sort((a, b) => (position.get(a.layer) ?? Infinity) - (position.get(b.layer) ?? Infinity));
}

/**
 * Reads what a Keras .h5 holds (full model, or weights-only with a sibling topology) without tensor data.
 * `bytes` is the file's size, the bound for every dataset's declared size.
 */
export async function readKerasH5(path: string, file: Hdf5Tree, bytes: number): Promise<KerasH5Contents> {
  const warnings: string[] = [];
  const files = [path];
  const full = isGroup(file, "/model_weights");
  let kind: KerasH5Kind;
  let modelConfig: unknown;
  let trainingConfig: unknown;
  let weightsRoot: string;
  if (full) {
    kind = "full-model";
    weightsRoot = "/model_weights";
    modelConfig = parseJsonAttribute(path, file, "model_config");
    trainingConfig = parseJsonAttribute(path, file, "training_config");
    if (modelConfig === undefined) warnings.push("the file has no model_config: the architecture is unknown");
  } else if (hasAttribute(file, "/", "layer_names")) {
    kind = "weights-only";
    weightsRoot = "/";
  } else if (isGroup(file, "/layers") || isGroup(file, "/vars")) {
    return readKeras3Weights(path, file, bytes);
  } else {
    throw new ModelFileError(
      path,
      "is an HDF5 file but not a Keras model: expected a model_weights group (full model) or a layer_names attribute (weights-only file)",
    );
  }
  const kerasVersion =
    readStringAttribute(file, "/", "keras_version") ?? readStringAttribute(file, weightsRoot, "keras_version");
  const backend = readStringAttribute(file, "/", "backend") ?? readStringAttribute(file, weightsRoot, "backend");
  let layers = readLayerWeights(path, file, weightsRoot);

  let topologyPath: string | undefined;
  if (kind === "weights-only") {
    const withWeights = layers
      .filter((l) => l.weightNames.length > 0 && l.layer !== TOP_LEVEL_WEIGHTS)
      .map((l) => l.layer);
    const topology = await findSiblingTopology(path, withWeights, warnings);
    if (topology) {
      modelConfig = topology.modelConfig;
      topologyPath = topology.path;
      files.push(topology.path);
    } else {
      warnings.push("weights-only file without a topology JSON beside it: the architecture is unknown");
    }
  }
  const architecture =
    modelConfig === undefined
      ? undefined
      : architectureOrWeightsOnly(topologyPath ?? path, "the model config", modelConfig, kerasVersion, warnings);
  layers = orderLayers(layers, architecture);

  const names = tensorNames(layers);
  const datasets = new Map<string, DatasetInfo>();
  const tensors: TensorInfo[] = [];
  const base = weightsRoot === "/" ? "" : weightsRoot;
  for (const { layer, weightNames } of layers) {
    const layerTensors: TensorInfo[] = [];
    for (const weightName of weightNames) {
      const datasetPath = `${base}/${layer}/${weightName}`;
      let info: DatasetInfo;
      try {
        info = datasetInfo(file, datasetPath, path, bytes);
      } catch (error) {
        if (error instanceof ModelFileError && error.expected.startsWith("has no dataset")) {
          throw new ModelFileError(
            path,
            `layer "${layer}" lists weight "${weightName}" in weight_names, but there is no dataset at "${datasetPath}"`,
          );
        }
        throw error;
      }
      const name = names.get(`${layer}\u0000${weightName}`)!;
      const tensor: TensorInfo = {
        name,
        shape: info.shape,
        dtype: info.dtype,
        layer: layer === TOP_LEVEL_WEIGHTS ? "" : layer,
      };
      datasets.set(name, info);
      layerTensors.push(tensor);
    }
    tensors.push(...layerTensors);
    const spec = architecture?.layers.find((l) => l.name === layer);
    if (spec) {
      spec.weights = layerTensors.map((t) => t.name);
      checkLayerShapes(path, spec, layerTensors);
    } else if (layerTensors.length > 0 && architecture) {
      warnings.push(`layer "${layer}" has weights in the file but is not in the model config`);
    }
  }

  if (architecture) requireLayerWeights(topologyPath ?? path, architecture.layers);
  const metadata: Record<string, unknown> = { kind };
  if (kerasVersion !== undefined) metadata.keras_version = kerasVersion;
  if (backend !== undefined) metadata.backend = backend;
  if (topologyPath) metadata.topology = topologyPath;
  if (full && isGroup(file, "/optimizer_weights")) metadata.optimizer_state = true;
  const manifest: ModelManifest = { path, format: "keras-h5", files, architecture, tensors, metadata, warnings };
  if (trainingConfig !== undefined) manifest.trainingConfig = trainingConfig;
  return { manifest, datasets, kind };
}

/**
 * A Keras 3 `model.save_weights("x.weights.h5")` file: `layers/<snake_case(class)>[_n]/vars/<i>` (and a root `vars`)
 * with no config, so no architecture; `--architecture` gives it one (src/core/formats/weights-layout.ts maps the
 * groups to the architecture's layers). Tensors are named by their dataset paths, as inside a `.keras` file.
 */
function readKeras3Weights(path: string, file: Hdf5Tree, bytes: number): KerasH5Contents {
  const datasets = new Map<string, DatasetInfo>();
  const tensors: TensorInfo[] = [];
  const add = (datasetPath: string, layer: string) => {
    const info = datasetInfo(file, datasetPath, path, bytes);
    datasets.set(datasetPath, info);
    tensors.push({ name: datasetPath, shape: info.shape, dtype: info.dtype, layer });
  };
  if (isGroup(file, "vars"))
    for (const p of datasetsUnder(path, file, { layer: "", className: "", path: "vars" })) add(p, "");
  if (isGroup(file, "layers")) {
    for (const key of childOrder(file.keys("layers")))
      for (const p of datasetsUnder(path, file, { layer: key, className: "", path: `layers/${key}` })) add(p, key);
  }
  const manifest: ModelManifest = {
    path,
    format: "keras-h5",
    files: [path],
    tensors,
    metadata: { kind: KERAS3_WEIGHTS_KIND },
    warnings: ["a Keras 3 weights file (.weights.h5): the architecture is unknown"],
  };
  return { manifest, datasets, kind: KERAS3_WEIGHTS_KIND };
}
