/**
 * Translates a Keras model config (Keras 2, Keras 3 or tfjs flavour; Sequential or functional) into the
 * Keras 2 form that tfjs-layers' `tf.models.modelFromJSON({modelTopology})` reads. Pure JSON: no tfjs here.
 *
 * Layers whose Keras semantics tfjs would silently change (tfjs ignores config keys it does not know) are
 * refused by name instead of being run wrongly.
 */
import { ModelFileError } from "../errors.js";
import type { Architecture } from "../model.js";
import { Refusal, refuse } from "./refusal.js";
import { type NodeShift, translateEndpoints, translateInboundNodes } from "./to-tfjs-nodes.js";
import { canonicalLayerClass } from "./layers.js";

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Layer classes tfjs-layers 4.x runs with Keras semantics. */
const SUPPORTED = new Set([
  "InputLayer",
  "Dense",
  "Conv1D",
  "Conv2D",
  "Conv3D",
  "Conv2DTranspose",
  "DepthwiseConv2D",
  "SeparableConv2D",
  "MaxPooling1D",
  "MaxPooling2D",
  "MaxPooling3D",
  "AveragePooling1D",
  "AveragePooling2D",
  "AveragePooling3D",
  "GlobalMaxPooling1D",
  "GlobalMaxPooling2D",
  "GlobalAveragePooling1D",
  "GlobalAveragePooling2D",
  "BatchNormalization",
  "LayerNormalization",
  "Dropout",
  "SpatialDropout1D",
  "GaussianNoise",
  "GaussianDropout",
  "AlphaDropout",
  "Flatten",
  "Reshape",
  "Permute",
  "RepeatVector",
  "ZeroPadding2D",
  "Cropping2D",
  "UpSampling2D",
  "Embedding",
  "LSTM",
  "GRU",
  "SimpleRNN",
  "Bidirectional",
  "TimeDistributed",
  "Activation",
  "ReLU",
  "LeakyReLU",
  "PReLU",
  "ELU",
  "Softmax",
  "ThresholdedReLU",
  "Add",
  "Multiply",
  "Average",
  "Maximum",
  "Minimum",
  "Concatenate",
  "Dot",
  "Masking",
  "Rescaling",
  "Sequential",
  "Functional",
  "Model",
]);

/** Keras activation names -> tfjs's (tfjs's hard_sigmoid is Keras 2's 0.2x+0.5, so Keras 3's is refused). */
const ACTIVATIONS: Record<string, string> = {
  linear: "linear",
  relu: "relu",
  relu6: "relu6",
  elu: "elu",
  selu: "selu",
  sigmoid: "sigmoid",
  softplus: "softplus",
  softsign: "softsign",
  tanh: "tanh",
  softmax: "softmax",
  log_softmax: "logSoftmax",
  gelu: "gelu",
  mish: "mish",
  swish: "swish",
  silu: "swish",
  hard_sigmoid: "hard_sigmoid",
};

/** What the translation needs to know to name the file and the layer in its messages. */
interface Context {
  file: string;
  keras3: boolean;
}

/** Keras 3 DTypePolicy objects and every float policy run in float32 (tfjs computes in float32 only). */
function translateDType(dtype: unknown): string | undefined {
  const name = isObject(dtype) ? (isObject(dtype.config) ? dtype.config.name : undefined) : dtype;
  if (name === undefined || name === null) return undefined;
  if (typeof name !== "string") refuse(`its dtype ${JSON.stringify(dtype)} is not a dtype name`);
  if (name === "bool") return "bool";
  if (/^u?int\d+$/.test(name)) return "int32";
  if (/float|mixed/.test(name)) return "float32";
  refuse(`its dtype "${name}" has no TF.js equivalent`);
}

function translateActivation(value: unknown, ctx: Context): string {
  const name = isObject(value) && value.class_name === "function" ? value.config : value;
  if (typeof name !== "string") refuse(`its activation ${JSON.stringify(value)} is not a built-in activation`);
  if (name === "hard_sigmoid" && ctx.keras3) {
    refuse("Keras 3's hard_sigmoid (relu6(x + 3) / 6) differs from TF.js's (0.2x + 0.5)");
  }
  const mapped = ACTIVATIONS[name];
  if (!mapped) refuse(`its activation "${name}" has no TF.js equivalent`);
  return mapped;
}

function singleAxis(axis: unknown): unknown {
  return Array.isArray(axis) && axis.length === 1 ? axis[0] : axis;
}

/** Config keys whose non-default value changes what a layer computes in ways tfjs cannot reproduce. */
function checkSemantics(className: string, c: Json): void {
  const nonDefault = (key: string, fine: unknown[]) => key in c && !fine.includes(c[key]);
  if (nonDefault("groups", [1, null])) refuse(`it is a grouped convolution (groups=${String(c.groups)})`);
  if (nonDefault("lora_rank", [null, 0])) refuse("it has LoRA weights (lora_rank is set)");
  if (nonDefault("quantization_config", [null]) || nonDefault("quantization_mode", [null])) refuse("it is quantized");
  if (nonDefault("keepdims", [false, null])) refuse("it keeps the pooled dimensions (keepdims=true)");
  if (nonDefault("time_major", [false, null])) refuse("it is time-major (time_major=true)");
  if (className === "GRU" && nonDefault("reset_after", [false])) {
    refuse("it is a GRU with reset_after=true (the default since TF 2 and in Keras 3), which TF.js does not implement");
  }
  if (className === "BatchNormalization") {
    if (nonDefault("renorm", [false, null])) refuse("it uses batch renormalization (renorm=true)");
    if (nonDefault("virtual_batch_size", [null])) refuse("it uses a virtual batch size");
  }
  if (className === "LayerNormalization" && nonDefault("rms_scaling", [false, null]))
    refuse("it uses RMS scaling (rms_scaling=true)");
  if (className === "ReLU") {
    if (nonDefault("negative_slope", [0, null])) refuse("it has a negative slope, which TF.js's ReLU lacks");
    if (nonDefault("threshold", [0, null])) refuse("it has a threshold, which TF.js's ReLU lacks");
  }
  if (className === "Softmax" && Array.isArray(c.axis) && c.axis.length > 1) refuse("it normalises over several axes");
}

/**
 * One layer's config in Keras 2 form. Initializers become Zeros (every weight is loaded from the model file
 * afterwards, and tfjs's orthogonal init of a large LSTM takes minutes); regularizers and constraints are
 * dropped (they act only when the weights themselves are trained, which Model Soup never does).
 */
function translateConfig(className: string, config: Json, ctx: Context): Json {
  checkSemantics(className, config);
  const out: Json = {};
  for (const [key, value] of Object.entries(config)) {
    if (key.endsWith("_initializer")) out[key] = value === null ? null : { class_name: "Zeros", config: {} };
    else if (key.endsWith("_regularizer") || key.endsWith("_constraint")) out[key] = null;
    else if (key === "dtype") {
      const dtype = translateDType(value);
      if (dtype !== undefined) out.dtype = dtype;
    } else if (key === "activation" || key === "recurrent_activation") out[key] = translateActivation(value, ctx);
    else if (key === "batch_shape") out.batch_input_shape = value;
    else if (
      [
        "build_config",
        "compile_config",
        "ragged",
        "optional",
        "synchronized",
        "seed",
        "use_cudnn",
        "lora_rank",
        "lora_alpha",
        "quantization_config",
        "quantization_mode",
      ].includes(key)
    )
      continue;
    else out[key] = value;
  }
  if (className === "LeakyReLU" && "negative_slope" in out) {
    out.alpha = out.negative_slope;
    delete out.negative_slope;
  }
  if (className === "BatchNormalization" || className === "Softmax") out.axis = singleAxis(out.axis);
  if (className === "ReLU") {
    delete out.negative_slope;
    delete out.threshold;
  }
  if ((className === "Bidirectional" || className === "TimeDistributed") && isObject(config.layer)) {
    out.layer = translateLayer(config.layer, ctx, false);
  }
  if (className === "Bidirectional" && isObject(config.backward_layer)) {
    out.backward_layer = translateLayer(config.backward_layer, ctx, false);
  }
  return out;
}

function layerName(layer: Json): string {
  return String(layer.name ?? (isObject(layer.config) ? layer.config.name : "") ?? "");
}

function translateLayer(layer: Json, ctx: Context, functional: boolean, shift: NodeShift = () => 0): Json {
  const original = String(layer.class_name);
  const className = canonicalLayerClass(original);
  const name = layerName(layer);
  try {
    if (!SUPPORTED.has(className)) refuse("TF.js has no such layer");
    if (className === "Sequential" || className === "Functional" || className === "Model") {
      const nested = translateModel(layer, ctx);
      return functional
        ? { ...nested, name, inbound_nodes: translateInboundNodes(layer.inbound_nodes, shift) }
        : nested;
    }
    const config = translateConfig(className, isObject(layer.config) ? layer.config : {}, ctx);
    const out: Json = { class_name: className, config };
    if (functional) {
      out.name = name;
      out.inbound_nodes = translateInboundNodes(layer.inbound_nodes, shift);
    }
    return out;
  } catch (error) {
    if (error instanceof Refusal) {
      throw new ModelFileError(ctx.file, `layer "${name}" (${original}) cannot run in TF.js: ${error.reason}`);
    }
    throw error;
  }
}

/**
 * Keras 3 (and tf.keras 2) Sequentials start with an InputLayer. tfjs builds such a Sequential at the top
 * level but not nested in a functional model ("Graph disconnected"), so the input shape moves onto the first
 * layer, as Keras 2 wrote Sequentials. The input's dtype stays behind: on a layer, tfjs's dtype is the
 * weights' dtype (an int32 input must not make an Embedding's table int32).
 */
function foldInputLayer(layers: Json[]): Json[] {
  const [first, second, ...rest] = layers;
  if (!first || !second || first.class_name !== "InputLayer") return layers;
  const input = first.config as Json;
  const config = { ...(second.config as Json), batch_input_shape: input.batch_input_shape };
  return [{ ...second, config }, ...rest];
}

function translateModel(model: Json, ctx: Context): Json {
  const className = String(model.class_name);
  const config = model.config;
  const rawLayers: unknown = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(rawLayers)) throw new ModelFileError(ctx.file, `has a ${className} config without a layer list`);
  const name = isObject(config) && typeof config.name === "string" ? config.name : undefined;
  if (className === "Sequential") {
    const layers = foldInputLayer(rawLayers.map((l) => translateLayer(l as Json, ctx, false)));
    return { class_name: "Sequential", config: { ...(name ? { name } : {}), layers } };
  }
  const c = config as Json;
  const nestedSequentials = new Set(
    rawLayers.filter((l): l is Json => isObject(l) && l.class_name === "Sequential").map(layerName),
  );
  const shift: NodeShift = (layer) => (ctx.keras3 && nestedSequentials.has(layer) ? 1 : 0);
  return {
    class_name: className,
    config: {
      ...(name ? { name } : {}),
      layers: rawLayers.map((l) => translateLayer(l as Json, ctx, true, shift)),
      input_layers: translateEndpoints(c.input_layers, shift),
      output_layers: translateEndpoints(c.output_layers, shift),
    },
  };
}

function isKeras3(architecture: Architecture, raw: Json): boolean {
  if (architecture.kerasVersion?.startsWith("3.")) return true;
  return (
    typeof raw.module === "string" ||
    typeof raw.registered_name === "string" ||
    JSON.stringify(raw).includes('"DTypePolicy"')
  );
}

/**
 * A model topology for `tf.models.modelFromJSON({modelTopology})`: the architecture's Keras config in the
 * Keras 2 form tfjs reads. `file` names the model in error messages.
 */
export function toTfjsTopology(architecture: Architecture, file = "the model"): Json {
  const raw = architecture.raw;
  if (!isObject(raw) || typeof raw.class_name !== "string") {
    throw new ModelFileError(file, "has no Keras model config to run");
  }
  const ctx: Context = { file, keras3: isKeras3(architecture, raw) };
  try {
    return translateModel(raw, ctx);
  } catch (error) {
    if (error instanceof Refusal) throw new ModelFileError(file, `cannot run in TF.js: ${error.reason}`);
    throw error;
  }
}
