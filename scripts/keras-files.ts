/**
 * Writes small Sequential models of Dense / BatchNormalization / Dropout layers in the layouts Keras itself writes,
 * for test fixtures (scripts/make-real-families.ts), with h5wasm and fflate:
 *
 * - Keras 2 full model `.h5` (tf.keras 2.x `model.save("x.h5")`, h5py 3): root attributes `keras_version`,
 *   `backend`, `model_config`, `training_config` (Python bytes: variable-length ASCII strings);
 *   `/model_weights` with `layer_names`, `backend`, `keras_version`; one group per layer with `weight_names`
 *   (a NumPy bytes array: fixed-length ASCII; an empty float64 array for a layer without weights) and the
 *   datasets at `<layer>/<layer>/<variable>:0`.
 * - Keras 2 weights-only `.h5` (`ModelCheckpoint(save_weights_only=True)`): the same layer groups at the root,
 *   with `layer_names`, `backend`, `keras_version` on the root.
 * - Keras 3 `.keras`: a stored zip of `metadata.json`, `config.json` and `model.weights.h5` with the variables at
 *   `layers/<snake_case(class)>[_n]/vars/<i>` (numbered per class in `model.layers` order) and an empty root
 *   `vars` group.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { zipSync } from "fflate";
import { h5wasm, h5wasmReady } from "../src/core/formats/hdf5/module.js";

export type LayerSpec =
  | { kind: "dense"; name: string; units: number; activation: "relu" | "softmax" | "sigmoid" | "linear" }
  | { kind: "batchnorm"; name: string; epsilon: number; momentum: number }
  | { kind: "dropout"; name: string; rate: number };

export interface SequentialSpec {
  inputs: number;
  layers: LayerSpec[];
  /** The loss name in the compile config (a custom function's name is saved as it is). */
  loss: string;
}

/** One array per variable of each layer, in Keras order (Dense: kernel, bias; BN: gamma, beta, moving mean, variance). */
export type LayerWeights = Map<string, Array<{ shape: number[]; values: Float32Array }>>;

const VARIABLES: Record<LayerSpec["kind"], string[]> = {
  dense: ["kernel", "bias"],
  batchnorm: ["gamma", "beta", "moving_mean", "moving_variance"],
  dropout: [],
};
const KERAS2_VERSION = "2.15.0";
const KERAS3_VERSION = "3.5.0";
const KERAS2_CLASS = { dense: "Dense", batchnorm: "BatchNormalization", dropout: "Dropout" } as const;

function units(spec: SequentialSpec, upTo: number): number {
  let width = spec.inputs;
  for (const layer of spec.layers.slice(0, upTo)) if (layer.kind === "dense") width = layer.units;
  return width;
}

function keras2LayerConfig(layer: LayerSpec): object {
  const base = { name: layer.name, trainable: true, dtype: "float32" };
  if (layer.kind === "dense")
    return {
      ...base,
      units: layer.units,
      activation: layer.activation,
      use_bias: true,
      kernel_initializer: { module: "keras.initializers", class_name: "GlorotUniform", config: { seed: null } },
      bias_initializer: { module: "keras.initializers", class_name: "Zeros", config: {} },
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
    };
  if (layer.kind === "batchnorm")
    return {
      ...base,
      // tf.keras 2 normalises the axis to a list when the layer is built, and saves it so.
      axis: [1],
      momentum: layer.momentum,
      epsilon: layer.epsilon,
      center: true,
      scale: true,
      beta_initializer: { module: "keras.initializers", class_name: "Zeros", config: {} },
      gamma_initializer: { module: "keras.initializers", class_name: "Ones", config: {} },
      moving_mean_initializer: { module: "keras.initializers", class_name: "Zeros", config: {} },
      moving_variance_initializer: { module: "keras.initializers", class_name: "Ones", config: {} },
      beta_regularizer: null,
      gamma_regularizer: null,
      beta_constraint: null,
      gamma_constraint: null,
    };
  return { ...base, rate: layer.rate, noise_shape: null, seed: null };
}

/** tf.keras 2.15's `model.to_json()` of the Sequential model (what `model_config` holds). */
export function keras2ModelConfig(spec: SequentialSpec): object {
  return {
    class_name: "Sequential",
    config: {
      name: "sequential",
      layers: [
        {
          module: "keras.layers",
          class_name: "InputLayer",
          config: {
            batch_input_shape: [null, spec.inputs],
            dtype: "float32",
            sparse: false,
            ragged: false,
            name: "dense_input",
          },
          registered_name: null,
        },
        ...spec.layers.map((layer, i) => ({
          module: "keras.layers",
          class_name: KERAS2_CLASS[layer.kind],
          config: keras2LayerConfig(layer),
          registered_name: null,
          build_config: { input_shape: [null, units(spec, i)] },
        })),
      ],
    },
    keras_version: KERAS2_VERSION,
    backend: "tensorflow",
  };
}

function keras2TrainingConfig(spec: SequentialSpec): object {
  return {
    loss: spec.loss,
    metrics: [
      [
        {
          module: "keras.metrics",
          class_name: "MeanMetricWrapper",
          config: { name: "accuracy", dtype: "float32", fn: "categorical_accuracy" },
          registered_name: null,
        },
      ],
    ],
    weighted_metrics: null,
    loss_weights: null,
    optimizer_config: {
      module: "keras.optimizers",
      class_name: "Adam",
      config: {
        name: "Adam",
        weight_decay: null,
        clipnorm: null,
        global_clipnorm: null,
        clipvalue: null,
        use_ema: false,
        ema_momentum: 0.99,
        ema_overwrite_frequency: null,
        jit_compile: false,
        is_legacy_optimizer: false,
        learning_rate: 0.009999999776482582,
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-7,
        amsgrad: false,
      },
      registered_name: null,
    },
  };
}

type H5Group = InstanceType<typeof h5wasm.Group>;

/** A NumPy bytes array attribute as h5py writes it: fixed-length ASCII, as long as the longest item. */
function fixedAsciiList(group: H5Group, name: string, items: string[]): void {
  if (items.length === 0) {
    group.create_attribute(name, new Float64Array(0), [0], "<d");
    return;
  }
  const size = Math.max(...items.map((s) => s.length));
  group.create_attribute(name, items, [items.length], `A${size}`);
}

/** A Python bytes scalar as h5py 3 writes it: a variable-length ASCII string. */
function vlenAscii(group: H5Group, name: string, value: string): void {
  group.create_attribute(name, value, null, "A");
}

function writeKeras2Layers(root: H5Group, spec: SequentialSpec, weights: LayerWeights): void {
  fixedAsciiList(
    root,
    "layer_names",
    spec.layers.map((l) => l.name),
  );
  vlenAscii(root, "backend", "tensorflow");
  vlenAscii(root, "keras_version", KERAS2_VERSION);
  for (const layer of spec.layers) {
    const group = root.create_group(layer.name);
    const names = VARIABLES[layer.kind].map((v) => `${layer.name}/${v}:0`);
    fixedAsciiList(group, "weight_names", names);
    if (names.length === 0) continue;
    const inner = group.create_group(layer.name);
    const arrays = weights.get(layer.name)!;
    VARIABLES[layer.kind].forEach((v, i) =>
      inner.create_dataset({ name: `${v}:0`, data: arrays[i]!.values, shape: arrays[i]!.shape, dtype: "<f" }),
    );
  }
}

async function withH5File(path: string, write: (file: H5Group) => void): Promise<void> {
  await h5wasmReady();
  await mkdir(dirname(path), { recursive: true });
  // h5py's default bounds: the file keeps the version 0 superblock and the old object layouts Keras files have.
  const file = new h5wasm.File(path, "w", { libver: ["earliest", "latest"] });
  try {
    write(file);
  } finally {
    file.close();
  }
}

/** A tf.keras 2 full model `.h5` (no optimizer state: `include_optimizer=False`). */
export async function writeKeras2Model(path: string, spec: SequentialSpec, weights: LayerWeights): Promise<void> {
  await withH5File(path, (file) => {
    vlenAscii(file, "keras_version", KERAS2_VERSION);
    vlenAscii(file, "backend", "tensorflow");
    vlenAscii(file, "model_config", JSON.stringify(keras2ModelConfig(spec)));
    vlenAscii(file, "training_config", JSON.stringify(keras2TrainingConfig(spec)));
    writeKeras2Layers(file.create_group("model_weights"), spec, weights);
  });
}

/** A tf.keras 2 weights-only `.h5` (`model.save_weights` / `ModelCheckpoint(save_weights_only=True)`). */
export async function writeKeras2Weights(path: string, spec: SequentialSpec, weights: LayerWeights): Promise<void> {
  await withH5File(path, (file) => writeKeras2Layers(file, spec, weights));
}

const DTYPE_POLICY = { module: "keras", class_name: "DTypePolicy", config: { name: "float32" }, registered_name: null };
const KERAS3_CLASS = { dense: "Dense", batchnorm: "BatchNormalization", dropout: "Dropout" } as const;
const initializer = (className: string, config: object = {}) => ({
  module: "keras.initializers",
  class_name: className,
  config,
  registered_name: null,
});

function keras3LayerConfig(layer: LayerSpec): object {
  const base = { name: layer.name, trainable: true, dtype: DTYPE_POLICY };
  if (layer.kind === "dense")
    return {
      ...base,
      units: layer.units,
      activation: layer.activation,
      use_bias: true,
      kernel_initializer: initializer("GlorotUniform", { seed: null }),
      bias_initializer: initializer("Zeros"),
      kernel_regularizer: null,
      bias_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
    };
  if (layer.kind === "batchnorm")
    return {
      ...base,
      axis: -1,
      momentum: layer.momentum,
      epsilon: layer.epsilon,
      center: true,
      scale: true,
      beta_initializer: initializer("Zeros"),
      gamma_initializer: initializer("Ones"),
      moving_mean_initializer: initializer("Zeros"),
      moving_variance_initializer: initializer("Ones"),
      beta_regularizer: null,
      gamma_regularizer: null,
      beta_constraint: null,
      gamma_constraint: null,
      synchronized: false,
    };
  return { ...base, rate: layer.rate, seed: null, noise_shape: null };
}

/** Keras 3's `config.json` of the compiled Sequential model; a plain-function loss is serialised by name. */
export function keras3Config(spec: SequentialSpec): object {
  return {
    module: "keras",
    class_name: "Sequential",
    config: {
      name: "sequential",
      trainable: true,
      dtype: DTYPE_POLICY,
      layers: [
        {
          module: "keras.layers",
          class_name: "InputLayer",
          config: { batch_shape: [null, spec.inputs], dtype: "float32", sparse: false, name: "input_layer" },
          registered_name: null,
        },
        ...spec.layers.map((layer, i) => ({
          module: "keras.layers",
          class_name: KERAS3_CLASS[layer.kind],
          config: keras3LayerConfig(layer),
          registered_name: null,
          build_config: { input_shape: [null, units(spec, i)] },
        })),
      ],
      build_input_shape: [null, spec.inputs],
    },
    registered_name: null,
    build_config: { input_shape: [null, spec.inputs] },
    compile_config: {
      optimizer: {
        module: "keras.optimizers",
        class_name: "Adam",
        config: {
          name: "adam",
          learning_rate: 0.009999999776482582,
          weight_decay: null,
          clipnorm: null,
          global_clipnorm: null,
          clipvalue: null,
          use_ema: false,
          ema_momentum: 0.99,
          ema_overwrite_frequency: null,
          loss_scale_factor: null,
          gradient_accumulation_steps: null,
          beta_1: 0.9,
          beta_2: 0.999,
          epsilon: 1e-7,
          amsgrad: false,
        },
        registered_name: null,
      },
      loss: { module: "builtins", class_name: "function", config: spec.loss, registered_name: "function" },
      loss_weights: null,
      metrics: ["accuracy"],
      weighted_metrics: null,
      run_eagerly: false,
      steps_per_execution: 1,
      jit_compile: false,
    },
  };
}

const snakeCase: Record<LayerSpec["kind"], string> = {
  dense: "dense",
  batchnorm: "batch_normalization",
  dropout: "dropout",
};

/** A Keras 3 `.keras` archive (no optimizer state), with a fixed save date so the bytes repeat. */
export async function writeKeras3Model(path: string, spec: SequentialSpec, weights: LayerWeights): Promise<void> {
  await h5wasmReady();
  const scratch = mkdtempSync(join(tmpdir(), "keras3-"));
  const weightsPath = join(scratch, "model.weights.h5");
  try {
    await withH5File(weightsPath, (file) => {
      const layers = file.create_group("layers");
      const used = new Map<string, number>();
      for (const layer of spec.layers) {
        const stem = snakeCase[layer.kind];
        const n = used.get(stem);
        used.set(stem, n === undefined ? 0 : n + 1);
        const vars = layers.create_group(n === undefined ? stem : `${stem}_${n + 1}`).create_group("vars");
        (weights.get(layer.name) ?? []).forEach((w, i) =>
          vars.create_dataset({ name: String(i), data: w.values, shape: w.shape, dtype: "<f" }),
        );
      }
      file.create_group("vars");
    });
    const mtime = new Date(Date.UTC(2025, 0, 15, 12, 0, 0));
    const text = (s: string) => new TextEncoder().encode(s);
    const archive = zipSync(
      {
        "metadata.json": text(JSON.stringify({ keras_version: KERAS3_VERSION, date_saved: "2025-01-15@12:00:00" })),
        "config.json": text(JSON.stringify(keras3Config(spec))),
        "model.weights.h5": readFileSync(weightsPath),
      },
      { level: 0, mtime },
    );
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, archive);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
