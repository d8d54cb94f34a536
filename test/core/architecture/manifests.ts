/**
 * ModelManifest values built for the architecture tests: a Keras model config parsed by the project's own
 * parseKerasModelConfig, plus a tensor list. Each tensor belongs to the layer named before its first "/".
 */
import { parseKerasModelConfig, unwrapModelConfig } from "../../../src/core/keras/config.js";
import type { FormatId, ModelManifest } from "../../../src/core/model.js";
import type { DType, TensorInfo } from "../../../src/core/tensor.js";

export interface TensorSpec {
  name: string;
  shape: number[];
  dtype?: DType;
}

function tensorInfo(spec: TensorSpec): TensorInfo {
  return { name: spec.name, shape: spec.shape, dtype: spec.dtype ?? "float32", layer: spec.name.split("/")[0]! };
}

/** A manifest with an architecture: the layers' weights are the tensors whose name starts with "<layer>/". */
export function kerasManifest(
  path: string,
  modelConfig: unknown,
  tensors: TensorSpec[],
  format: FormatId = "keras-h5",
): ModelManifest {
  const architecture = parseKerasModelConfig(path, modelConfig);
  const infos = tensors.map(tensorInfo);
  for (const layer of architecture.layers) {
    layer.weights = infos.filter((t) => t.layer === layer.name).map((t) => t.name);
  }
  return { path, format, files: [path], architecture, tensors: infos, metadata: {}, warnings: [] };
}

/** A manifest without an architecture, as safetensors files give. */
export function tensorListManifest(path: string, tensors: TensorSpec[]): ModelManifest {
  return { path, format: "safetensors", files: [path], tensors: tensors.map(tensorInfo), metadata: {}, warnings: [] };
}

/** A manifest from a TF.js model.json's text: its topology and its weights manifest (no weight data read). */
export function tfjsJsonManifest(path: string, json: string): ModelManifest {
  const parsed = JSON.parse(json) as { modelTopology: unknown; weightsManifest: { weights: TensorSpec[] }[] };
  const { modelConfig } = unwrapModelConfig(parsed.modelTopology);
  const tensors = parsed.weightsManifest.flatMap((group) =>
    group.weights.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype })),
  );
  return kerasManifest(path, modelConfig, tensors, "tfjs-layers");
}

/** A Dense layer config in the Keras 2 style, with the given settings over typical defaults. */
export function denseLayer(name: string, units: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    class_name: "Dense",
    config: {
      name,
      trainable: true,
      units,
      activation: "relu",
      use_bias: true,
      kernel_initializer: { class_name: "GlorotUniform", config: { seed: null } },
      bias_initializer: { class_name: "Zeros", config: {} },
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
      ...extra,
    },
  };
}

/** A Keras 2 Sequential config of Dense layers over an input of `inputs` features. */
export function denseSequential(inputs: number, layers: Record<string, unknown>[]): Record<string, unknown> {
  const [first, ...rest] = layers as { class_name: string; config: Record<string, unknown> }[];
  return {
    class_name: "Sequential",
    config: {
      name: "sequential_1",
      layers: [
        { ...first, config: { ...first!.config, batch_input_shape: [null, inputs], dtype: "float32" } },
        ...rest,
      ],
    },
  };
}

/** Tensors of a Dense stack: "<name>/kernel:0" [in, units] and "<name>/bias:0" [units] per layer. */
export function denseTensors(inputs: number, layers: { name: string; units: number }[], suffix = ":0"): TensorSpec[] {
  let width = inputs;
  return layers.flatMap(({ name, units }) => {
    const out = [
      { name: `${name}/kernel${suffix}`, shape: [width, units] },
      { name: `${name}/bias${suffix}`, shape: [units] },
    ];
    width = units;
    return out;
  });
}
