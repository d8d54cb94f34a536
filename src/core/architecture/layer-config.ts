/**
 * Reduces a Keras layer config to what decides the function the layer computes from its weights, so that two
 * trainings of one architecture compare equal whatever their names, seeds and initialisers, while a different
 * number of units, filters, kernel size or activation still tells them apart.
 *
 * Dropped, at every depth (wrapped layers such as Bidirectional's and nested models' configs included):
 * - `name`: an identity, not a structure (Keras numbers them per session: dense_1, dense_7, ...).
 * - `trainable`: whether training may change a weight; the trained weights and the forward pass are the same.
 * - `*_initializer`: only the starting point of training; averaging is for models trained from different starts.
 * - `*_regularizer`, `*_constraint`: terms and projections applied during training only.
 * - `seed`: run-specific (Dropout, GaussianNoise, initializer seeds).
 * - `dtype`: the layer's compute policy (also float32 on some layers and absent on others in one tf.keras file);
 *   what a merge needs, each weight's dtype, is compared tensor by tensor, and the input dtype is kept apart.
 * - `batch_input_shape`, `input_shape`, `batch_shape`, `input_length`: where the model's input is
 *   declared (InputLayer, first Sequential layer, or repeated on later layers by old Keras); it becomes the
 *   fingerprint's input node, see fingerprint.ts.
 * - Dropout-like noise (`rate`, `noise_shape`, `stddev` of Dropout/GaussianNoise/...; `dropout` and
 *   `recurrent_dropout` of RNNs) and BatchNormalization's `momentum`: training-time behaviour only. Trainings
 *   with different dropout rates are hyper-parameter variants of one network and merge like seed variants.
 * Keys equal to their Keras default are dropped too, because Keras versions differ in which defaults they
 * write (Keras 2.4+ writes `groups: 1`, Keras 3 `lora_rank: null` and `synchronized: false`, tfjs omits
 * Flatten's `data_format`); so are null values, Keras' "not set".
 */
import { canonicalLayerClass, TRAINING_NOISE_LAYERS } from "../keras/layers.js";

type Json = Record<string, unknown>;

const DROPPED_KEYS = new Set([
  "name",
  "trainable",
  "seed",
  "dtype",
  "batch_input_shape",
  "input_shape",
  "batch_shape",
  "input_length",
]);

const DROPPED_SUFFIXES = ["_initializer", "_regularizer", "_constraint"];

/** Their config says nothing about inference. */
const NOISE_LAYERS = new Set(TRAINING_NOISE_LAYERS);

const TRAINING_ONLY_KEYS: Record<string, readonly string[]> = {
  BatchNormalization: ["momentum", "renorm_momentum"],
  SimpleRNN: ["dropout", "recurrent_dropout"],
  LSTM: ["dropout", "recurrent_dropout"],
  GRU: ["dropout", "recurrent_dropout"],
  SimpleRNNCell: ["dropout", "recurrent_dropout"],
  LSTMCell: ["dropout", "recurrent_dropout"],
  GRUCell: ["dropout", "recurrent_dropout"],
  ConvLSTM2D: ["dropout", "recurrent_dropout"],
};

/** One spelling per class: Keras's aliases, and Keras 3's "Functional" for what Keras 2 calls "Model". */
export function canonicalClassName(className: string): string {
  return className === "Functional" ? "Model" : canonicalLayerClass(className);
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isDefault(key: string, value: unknown): boolean {
  switch (key) {
    case "data_format":
      return value === "channels_last";
    case "groups":
      return value === 1;
    case "use_bias":
      return value === true;
    case "sparse":
    case "ragged":
    case "synchronized":
    case "rms_scaling":
      return value === false;
    case "activation":
      return value === null || value === "linear" || (isObject(value) && value.class_name === "linear");
    case "dilation_rate":
      return value === 1 || (Array.isArray(value) && value.length > 0 && value.every((d) => d === 1));
    default:
      return false;
  }
}

function isDroppedKey(key: string): boolean {
  return DROPPED_KEYS.has(key) || DROPPED_SUFFIXES.some((s) => key.endsWith(s));
}

/** Normalises any value inside a config: objects lose dropped and default keys, recursively; a wrapped layer
 * ({class_name, config}) is normalised as a layer. */
function normaliseValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normaliseValue);
  if (!isObject(value)) return value;
  if (typeof value.class_name === "string" && isObject(value.config)) {
    return {
      class_name: canonicalClassName(value.class_name),
      config: normaliseLayerConfig(value.class_name, value.config),
    };
  }
  return normaliseObject(value, new Set());
}

function normaliseObject(object: Json, trainingOnly: ReadonlySet<string>): Json {
  const out: Json = {};
  for (const key of Object.keys(object).sort()) {
    const value = object[key];
    if (value === undefined || value === null || isDroppedKey(key) || trainingOnly.has(key) || isDefault(key, value))
      continue;
    out[key] = normaliseValue(value);
  }
  return out;
}

/** A layer config with names, training-only settings and written-out defaults removed; keys sorted. */
export function normaliseLayerConfig(className: string, config: Record<string, unknown>): Json {
  const canonical = canonicalClassName(className);
  if (NOISE_LAYERS.has(canonical)) return {};
  return normaliseObject(config, new Set(TRAINING_ONLY_KEYS[canonical] ?? []));
}

/** The input shape a layer config declares (InputLayer or a model's first layer), batch dimension included. */
export function declaredInputShape(config: Record<string, unknown>): (number | null)[] | undefined {
  const batchShape = config.batch_input_shape ?? config.batch_shape;
  if (Array.isArray(batchShape)) return batchShape.map((d) => (typeof d === "number" ? d : null));
  if (Array.isArray(config.input_shape))
    return [null, ...config.input_shape.map((d) => (typeof d === "number" ? d : null))];
  return undefined;
}

/** The dtype a declared input takes (Keras 3 writes a DTypePolicy object, older Keras a string). */
export function declaredInputDtype(config: Record<string, unknown>): string {
  const dtype = config.dtype;
  if (typeof dtype === "string") return dtype;
  if (isObject(dtype) && isObject(dtype.config) && typeof dtype.config.name === "string") return dtype.config.name;
  return "float32";
}
