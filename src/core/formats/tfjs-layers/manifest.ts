import { readFile } from "node:fs/promises";
import { ModelFileError } from "../../errors.js";
import { unwrapModelConfig } from "../../keras/config.js";
import { assignWeightsToLayers } from "../../keras/weight-order.js";
import { checkLayerShapes, requireLayerWeights } from "../../keras/layer-shapes.js";
import type { ModelManifest } from "../../model.js";
import type { TensorInfo } from "../../tensor.js";
import { type GroupLayout, type Placement, layOutGroups } from "./layout.js";
import { type ModelJson, isObject, parseModelJson } from "./model-json.js";
import { architectureOrWeightsOnly } from "../weights-only.js";

/** A TF.js layers model as read from its model.json and the sizes of its shards. */
export interface TfjsModel {
  manifest: ModelManifest;
  modelJson: ModelJson;
  layouts: GroupLayout[];
  /** Every model weight (optimizer state excluded) by name. */
  placements: Map<string, Placement>;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new ModelFileError(path, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

function pick(source: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}

export async function readTfjsModel(path: string): Promise<TfjsModel> {
  const modelJson = parseModelJson(path, await readText(path));
  const { json, modelTopology } = modelJson;
  let unwrapped;
  try {
    unwrapped = unwrapModelConfig(modelTopology);
  } catch (error) {
    throw new ModelFileError(path, `has an unusable modelTopology: ${(error as Error).message}`);
  }
  const kerasVersion = typeof modelTopology.keras_version === "string" ? modelTopology.keras_version : undefined;
  const warnings: string[] = [];
  // Custom layer classes: read, grouped and merged by the weights alone (formats/weights-only.ts).
  const architecture = architectureOrWeightsOnly(
    path,
    "the modelTopology",
    unwrapped.modelConfig,
    kerasVersion,
    warnings,
  );

  const layouts = await layOutGroups(path, modelJson.groups);
  const placements = new Map<string, Placement>();
  let optimizerWeights = 0;
  const quantized = new Set<string>();
  for (const layout of layouts) {
    for (const placement of layout.placements) {
      if (placement.entry.optimizer) {
        optimizerWeights++;
        continue;
      }
      placements.set(placement.entry.name, placement);
      if (placement.entry.quantization) quantized.add(placement.entry.quantization.dtype);
    }
  }
  const tensors: TensorInfo[] = [];
  if (architecture !== undefined) {
    assignWeightsToLayers(path, architecture.layers, [...placements.keys()]);
    for (const layer of architecture.layers) {
      const layerTensors: TensorInfo[] = [];
      for (const name of layer.weights) {
        const { entry } = placements.get(name)!;
        layerTensors.push({ name, shape: entry.shape, dtype: entry.dtype, layer: layer.name });
      }
      checkLayerShapes(path, layer, layerTensors);
      tensors.push(...layerTensors);
    }
    requireLayerWeights(path, architecture.layers);
  } else {
    // Without a usable architecture a weight's layer is its name's path ("dense_1/kernel" → "dense_1").
    for (const [name, { entry }] of placements) {
      tensors.push({
        name,
        shape: entry.shape,
        dtype: entry.dtype,
        layer: name.includes("/") ? name.slice(0, name.lastIndexOf("/")) : name,
      });
    }
  }

  if (quantized.size > 0) {
    warnings.push(
      `weights are quantized (${[...quantized].join(", ")}): they are read dequantized, and a model written from this ` +
        "file stores them unquantized",
    );
  }
  if (optimizerWeights > 0) {
    warnings.push(
      `${optimizerWeights} optimizer weights saved with the model are ignored and not written to merged models`,
    );
  }
  const manifest: ModelManifest = {
    path,
    format: "tfjs-layers",
    files: [path, ...layouts.flatMap((l) => l.shards.map((s) => s.path))],
    architecture,
    tensors,
    metadata: {
      ...pick(json, ["format", "generatedBy", "convertedBy", "userDefinedMetadata"]),
      ...pick(modelTopology, ["keras_version", "backend"]),
    },
    trainingConfig: unwrapped.trainingConfig ?? (isObject(json.trainingConfig) ? json.trainingConfig : undefined),
    warnings,
  };
  return { manifest, modelJson, layouts, placements };
}
