/**
 * Readable names for the tensors of a Keras 3 file, whose weights are stored by object path and variable index
 * (`layers/dense/vars/0`, `layers/batch_normalization/vars/2`): the name Keras gives the variable, found from the
 * layer's class and config (`dense/kernel`, `batch_normalization/moving_mean`). Shown to people; the stored name
 * stays the key for reading and writing.
 */
import type { LayerSpec } from "../model.js";

type Config = Record<string, unknown>;

const withBias = (names: string[], c: Config) => (c.use_bias === false ? names : [...names, "bias"]);
/** Normalisations create gamma only with `scale` and beta only with `center` (both on by default). */
const scaleCenter = (c: Config) => [...(c.scale === false ? [] : ["gamma"]), ...(c.center === false ? [] : ["beta"])];

/** The variables each layer class creates, in creation order (the order of `vars/<i>`). */
const VARIABLES: Record<string, (config: Config) => string[]> = {
  Dense: (c) => withBias(["kernel"], c),
  EinsumDense: (c) => (typeof c.bias_axes === "string" && c.bias_axes !== "" ? ["kernel", "bias"] : ["kernel"]),
  Conv1D: (c) => withBias(["kernel"], c),
  Conv2D: (c) => withBias(["kernel"], c),
  Conv3D: (c) => withBias(["kernel"], c),
  Conv1DTranspose: (c) => withBias(["kernel"], c),
  Conv2DTranspose: (c) => withBias(["kernel"], c),
  Conv3DTranspose: (c) => withBias(["kernel"], c),
  DepthwiseConv1D: (c) => withBias(["depthwise_kernel"], c),
  DepthwiseConv2D: (c) => withBias(["depthwise_kernel"], c),
  SeparableConv1D: (c) => withBias(["depthwise_kernel", "pointwise_kernel"], c),
  SeparableConv2D: (c) => withBias(["depthwise_kernel", "pointwise_kernel"], c),
  BatchNormalization: (c) => [...scaleCenter(c), "moving_mean", "moving_variance"],
  LayerNormalization: scaleCenter,
  GroupNormalization: scaleCenter,
  Embedding: () => ["embeddings"],
  PReLU: () => ["alpha"],
  Normalization: () => ["mean", "variance", "count"],
  // Recurrent layers keep their variables in a cell (`layers/lstm/cell/vars/<i>`).
  SimpleRNN: (c) => withBias(["kernel", "recurrent_kernel"], c),
  LSTM: (c) => withBias(["kernel", "recurrent_kernel"], c),
  GRU: (c) => withBias(["kernel", "recurrent_kernel"], c),
};

const VAR_PATH = /^(.*)\/vars\/(\d+)$/;

interface LayerDescription {
  className: string;
  config: Config;
}

/** The weighted layers a layer stands for: itself, or for a nested model the layers of its config, in order. */
function weightedLayers(className: string, config: Config): LayerDescription[] {
  if (Array.isArray(config.layers)) {
    return config.layers.flatMap((inner: unknown) => {
      if (typeof inner !== "object" || inner === null) return [];
      const { class_name, config: innerConfig } = inner as { class_name?: unknown; config?: unknown };
      if (typeof class_name !== "string" || typeof innerConfig !== "object" || innerConfig === null) return [];
      return weightedLayers(class_name, innerConfig as Config);
    });
  }
  return VARIABLES[className] ? [{ className, config }] : [];
}

/** The path without Keras 3's `layers/` containers: `layers/sequential/layers/dense` → `sequential/dense`. */
function readablePath(path: string): string {
  return path
    .split("/")
    .filter((segment) => segment !== "layers")
    .join("/");
}

/**
 * Readable names by stored tensor name, for the tensors of Keras 3 layers whose variables this module knows. A
 * layer whose stored variables do not fit its class (another count, an unknown class) keeps its stored names.
 */
export function kerasVariableNames(layers: readonly LayerSpec[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const layer of layers) {
    const byOwner = new Map<string, { name: string; index: number }[]>();
    for (const weight of layer.weights) {
      const match = VAR_PATH.exec(weight);
      if (!match) continue;
      const owner = byOwner.get(match[1]!) ?? [];
      owner.push({ name: weight, index: Number(match[2]) });
      byOwner.set(match[1]!, owner);
    }
    if (byOwner.size === 0) continue;
    const owners = weightedLayers(layer.className, layer.config);
    if (owners.length !== byOwner.size) continue;
    [...byOwner].forEach(([path, weights], i) => {
      const variables = VARIABLES[owners[i]!.className]!(owners[i]!.config);
      if (weights.length !== variables.length) return;
      for (const w of weights) {
        const variable = variables[w.index];
        if (variable !== undefined) names.set(w.name, `${readablePath(path)}/${variable}`);
      }
    });
  }
  return names;
}
