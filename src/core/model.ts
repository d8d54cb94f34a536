import type { DType, TensorArray, TensorInfo, Tensor } from "./tensor.js";

/** The model-file formats Model Soup reads and writes. */
export type FormatId =
  /** TF.js layers model: model.json + weight shards. */
  | "tfjs-layers"
  /** Keras HDF5: Keras 2 full model or weights-only file, and Keras 3's legacy .h5. */
  | "keras-h5"
  /** Keras 3 native .keras zip (config.json, metadata.json, model.weights.h5). */
  | "keras"
  /** safetensors: one file, or shards with model.safetensors.index.json. */
  | "safetensors"
  /** PyTorch torch.save zip archive (.pt, .pth, .bin, .ckpt) or TorchScript archive: read by its weights. */
  | "pytorch";

/** One layer of a Keras model, with its name kept apart from what defines it. */
export interface LayerSpec {
  name: string;
  className: string;
  /** The layer's config without its name (and without Keras 3 wrappers that carry no meaning). */
  config: Record<string, unknown>;
  /** Names of the layers whose outputs feed this one, in call order (empty for inputs and a Sequential's first layer). */
  inbound: string[];
  /** Names (as the file names them) of this layer's tensors, in the layer's own weight order. */
  weights: string[];
}

/** A Keras model's architecture, normalised across Keras 2, Keras 3 and TF.js files. */
export interface Architecture {
  /** "Sequential", "Functional" or "Model" as the file says. */
  modelClass: string;
  kerasVersion?: string;
  /** Layers in topological order (the order of the config, which Keras keeps topological). */
  layers: LayerSpec[];
  inputs: string[];
  outputs: string[];
  /** The config as the file holds it, for writing and for running the model. */
  raw: unknown;
}

export interface ModelManifest {
  /** The path the user gives for the model: model.json, .keras, .h5, .safetensors or the shard index. */
  path: string;
  format: FormatId;
  /** Every file the model is made of (the manifest file first, then shards or companions). */
  files: string[];
  /** Present when the format records one. */
  architecture?: Architecture;
  /** Every tensor, in topological order when the architecture is known, else in file-name order. */
  tensors: TensorInfo[];
  /** Format details kept as the file has them: keras_version, backend, safetensors __metadata__, ... */
  metadata: Record<string, unknown>;
  /** Keras training_config (loss, metrics), when the file has one. */
  trainingConfig?: unknown;
  /** Things the user should know that do not stop the file from being used. */
  warnings: string[];
}

export interface ReadOptions {
  /** Convert the values to float32 (half floats, bfloat16, ints). */
  float32?: boolean;
}

/** An open model: its manifest, and its tensors read one at a time on demand. */
export interface ModelFile {
  readonly manifest: ModelManifest;
  readTensor(name: string, options?: ReadOptions): Promise<Tensor>;
  close(): Promise<void>;
}

/**
 * Supplies the data of each tensor of a model being written. Values may be float32 (the writer converts
 * them to the template's dtype) or already in the template's dtype. `undefined` keeps the template's values.
 */
export type TensorSource = (info: TensorInfo) => Promise<Float32Array | TensorArray | undefined>;

export interface WriteOptions {
  /** Extra metadata to record where the format has a place for it (safetensors __metadata__). */
  metadata?: Record<string, string>;
}

/** One model-file format: detect, read the manifest cheaply, open for tensors, write from a template. */
export interface ModelFormat {
  readonly id: FormatId;
  readonly label: string;
  /** The label where space is short: the Model Explorer, the panel, the viewer. */
  readonly shortLabel: string;
  /** True when the file is of this format, judged from its content (`head` is its first bytes) and name. */
  detect(path: string, head: Uint8Array): boolean;
  /** Reads the manifest without reading tensor data. */
  readManifest(path: string): Promise<ModelManifest>;
  open(path: string): Promise<ModelFile>;
  /**
   * Writes a model at `target` that is `template` with its tensor data replaced by `source`: everything else
   * (config, metadata, layer order, names, attributes) as the template has it; optimizer state dropped.
   * Writes temporary files beside the target and renames them into place; on failure nothing is left.
   */
  write(template: string, target: string, source: TensorSource, options?: WriteOptions): Promise<void>;
}

export type { DType, Tensor, TensorArray, TensorInfo };
