import { ModelFileError } from "../errors.js";
import type { Architecture, LayerSpec } from "../model.js";
import { BUILTIN_LAYERS, CODE_LAYERS } from "./layers.js";

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** TF.js model.json holds the Keras config either bare or wrapped as {model_config, training_config}. */
export function unwrapModelConfig(topology: unknown): { modelConfig: Json; trainingConfig?: unknown } {
  if (isObject(topology) && isObject(topology.model_config)) {
    return { modelConfig: topology.model_config, trainingConfig: topology.training_config };
  }
  if (isObject(topology)) return { modelConfig: topology };
  throw new Error("the model topology is not a JSON object");
}

/** Layer names that feed a Keras 3 node: every `keras_history` found in its call arguments. */
function kerasHistoryNames(value: unknown, out: string[]): void {
  if (Array.isArray(value)) {
    for (const v of value) kerasHistoryNames(v, out);
  } else if (isObject(value)) {
    if (
      value.class_name === "__keras_tensor__" &&
      isObject(value.config) &&
      Array.isArray(value.config.keras_history)
    ) {
      out.push(String(value.config.keras_history[0]));
      return;
    }
    for (const v of Object.values(value)) kerasHistoryNames(v, out);
  }
}

/** Keras 2 nodes are lists of [layer, nodeIndex, tensorIndex, kwargs]; Keras 3 nodes are {args, kwargs}. */
function inboundNames(inboundNodes: unknown): string[] {
  if (!Array.isArray(inboundNodes)) return [];
  const names: string[] = [];
  for (const node of inboundNodes) {
    if (Array.isArray(node)) {
      for (const entry of node) if (Array.isArray(entry) && typeof entry[0] === "string") names.push(entry[0]);
    } else {
      kerasHistoryNames(node, names);
    }
  }
  return names;
}

function endpointNames(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  // [["input_1", 0, 0], ...] or, for a single endpoint in Keras 3, ["input_1", 0, 0].
  if (typeof list[0] === "string") return [list[0]];
  return list.filter(Array.isArray).map((e) => String(e[0]));
}

function layerName(layer: Json): string {
  const config = isObject(layer.config) ? layer.config : {};
  return String(layer.name ?? config.name ?? "");
}

/**
 * A model whose architecture Model Soup cannot rebuild without code from outside the file (a subclassed model, a
 * custom layer class): it cannot be run, but its weights can still be read, grouped and merged by name.
 */
export class NotRebuildable extends ModelFileError {
  override name = "NotRebuildable";
}

/** Refuses layers that would run code from the file, naming the layer. */
function checkLayerIsSafe(file: string, layer: Json): void {
  const className = String(layer.class_name);
  const name = layerName(layer);
  if (CODE_LAYERS.has(className)) {
    throw new ModelFileError(
      file,
      `layer "${name}" is a ${className} layer, which holds Python code; Model Soup never runs code from a model file. ` +
        "Replace it with built-in layers to merge this model.",
    );
  }
  const registered = layer.registered_name;
  const module = typeof layer.module === "string" ? layer.module : undefined;
  const custom =
    !BUILTIN_LAYERS.has(className) ||
    (typeof registered === "string" && registered !== className) ||
    (module !== undefined && !module.startsWith("keras"));
  if (custom) {
    throw new NotRebuildable(
      file,
      `layer "${name}" is of class "${String(registered ?? className)}", which is not a built-in Keras layer; ` +
        "Model Soup does not load custom classes, since that would mean running code from outside the file.",
    );
  }
}

/**
 * Normalises a Keras model config (Keras 2, Keras 3 or TF.js flavour; Sequential or functional) into an
 * Architecture. Layer weights are left empty: each format fills them from its own files.
 */
export function parseKerasModelConfig(file: string, modelConfig: unknown, kerasVersion?: string): Architecture {
  if (!isObject(modelConfig) || typeof modelConfig.class_name !== "string") {
    throw new ModelFileError(file, "has a model config without a class_name; expected a Keras model config");
  }
  const modelClass = modelConfig.class_name;
  const config = modelConfig.config;
  const rawLayers: unknown = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(rawLayers)) {
    throw new NotRebuildable(
      file,
      `has a ${modelClass} config without a layer list (a subclassed model, whose architecture is Python code)`,
    );
  }
  const layers: LayerSpec[] = [];
  const sequential = modelClass === "Sequential";
  for (const raw of rawLayers) {
    if (!isObject(raw) || typeof raw.class_name !== "string") {
      throw new ModelFileError(file, "has a layer entry without a class_name in its model config");
    }
    checkLayerIsSafe(file, raw);
    const { name: _name, ...rest } = isObject(raw.config) ? raw.config : {};
    const name = layerName(raw);
    const previous = layers[layers.length - 1];
    layers.push({
      name,
      className: raw.class_name,
      config: rest,
      inbound: sequential ? (previous ? [previous.name] : []) : inboundNames(raw.inbound_nodes),
      weights: [],
    });
  }
  const inputs = sequential
    ? layers.slice(0, 1).map((l) => l.name)
    : endpointNames(isObject(config) ? config.input_layers : undefined);
  const outputs = sequential
    ? layers.slice(-1).map((l) => l.name)
    : endpointNames(isObject(config) ? config.output_layers : undefined);
  return { modelClass, kerasVersion, layers, inputs, outputs, raw: modelConfig };
}
