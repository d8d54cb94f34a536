import { ModelFileError } from "../errors.js";
import type { LayerSpec } from "../model.js";

/**
 * The order in which Keras (and tfjs-layers) layers create their weights, by the last segment of the weight's
 * name: trainable weights first, then non-trainable ones, as `layer.weights` lists them.
 * Dense/Conv: kernel, bias; DepthwiseConv: depthwise_kernel, bias; SeparableConv: depthwise_kernel,
 * pointwise_kernel, bias; LSTM/GRU/SimpleRNN/ConvLSTM: kernel, recurrent_kernel, bias; BatchNormalization:
 * gamma, beta, moving_mean, moving_variance; LayerNormalization: gamma, beta; Embedding: embeddings;
 * PReLU: alpha; Normalization: mean, variance, count.
 */
const WEIGHT_RANK = new Map(
  [
    "depthwise_kernel",
    "pointwise_kernel",
    "kernel",
    "recurrent_kernel",
    "bias",
    "gamma",
    "beta",
    "moving_mean",
    "moving_variance",
    "embeddings",
    "alpha",
    "mean",
    "variance",
    "count",
  ].map((name, i) => [name, i]),
);

/** Sub-layers whose weights a wrapper creates in this order (Bidirectional, MultiHeadAttention). */
const SUBLAYER_RANK = new Map(
  ["forward", "backward", "query", "key", "value", "attention_output"].map((name, i) => [name, i]),
);

/** Converters and old tfjs versions may append "_1", "_2", ... to make variable names unique, or ":0". */
function baseName(segment: string): string {
  return segment.replace(/:\d+$/, "").replace(/_\d+$/, "");
}

function weightRank(segment: string): number {
  return WEIGHT_RANK.get(segment) ?? WEIGHT_RANK.get(baseName(segment)) ?? WEIGHT_RANK.size;
}

function sublayerRank(path: string): number {
  const first = path.split("/")[0] ?? "";
  for (const [prefix, rank] of SUBLAYER_RANK) {
    if (first === prefix || first.startsWith(`${prefix}_`)) return rank;
  }
  return SUBLAYER_RANK.size;
}

/** The layer a weight belongs to: the longest layer name that prefixes the weight name at a "/" boundary. */
export function owningLayer(weightName: string, layerNames: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const layer of layerNames) {
    if (weightName.startsWith(`${layer}/`) && (best === undefined || layer.length > best.length)) best = layer;
  }
  return best;
}

/**
 * Sorts one layer's weight names into the layer's own weight order. `names` come in file order (often
 * alphabetical); weights of sub-layers stay grouped, sub-layers in the wrapper's order, then by first
 * appearance; within a (sub-)layer by the Keras creation order; unknown names keep their file order.
 */
export function sortLayerWeights(layer: string, names: readonly string[]): string[] {
  const firstSeen = new Map<string, number>();
  const keyed = names.map((name, index) => {
    const rest = name.slice(layer.length + 1);
    const cut = rest.lastIndexOf("/");
    const sub = cut < 0 ? "" : rest.slice(0, cut);
    const leaf = cut < 0 ? rest : rest.slice(cut + 1);
    if (!firstSeen.has(sub)) firstSeen.set(sub, index);
    return { name, index, sub, leaf };
  });
  keyed.sort(
    (a, b) =>
      sublayerRank(a.sub) - sublayerRank(b.sub) ||
      firstSeen.get(a.sub)! - firstSeen.get(b.sub)! ||
      weightRank(a.leaf) - weightRank(b.leaf) ||
      a.index - b.index,
  );
  return keyed.map((k) => k.name);
}

const MODEL_CLASSES = new Set(["Sequential", "Functional", "Model"]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The names of the layers inside a nested model's config, depth first in config order. */
function innerLayerNames(className: string, config: Record<string, unknown>): string[] {
  if (!MODEL_CLASSES.has(className)) return [];
  const inner = Array.isArray(config.layers) ? config.layers : [];
  return inner.flatMap((entry) => {
    if (!isObject(entry)) return [];
    const c = isObject(entry.config) ? entry.config : {};
    const name = typeof entry.name === "string" ? entry.name : typeof c.name === "string" ? c.name : undefined;
    const nested = innerLayerNames(String(entry.class_name), Array.isArray(c) ? { layers: c } : c);
    return [...(name ? [name] : []), ...nested];
  });
}

/**
 * Fills each layer's `weights` from a flat list of weight names "<layer>/<weight>" (any order), in the
 * layer's own weight order. A nested model's weights are named after its inner layers (tfjs and Keras 2 do
 * so): they belong to the nested model's layer, in its inner layers' order. Every name must belong to a
 * layer of the config.
 */
export function assignWeightsToLayers(file: string, layers: LayerSpec[], weightNames: readonly string[]): void {
  // Each prefix a weight name can start with: the layer itself (rank 0) or one of its inner layers.
  const owners = new Map<string, { layer: string; rank: number }>();
  for (const spec of layers) {
    innerLayerNames(spec.className, spec.config).forEach((inner, i) => {
      if (!owners.has(inner)) owners.set(inner, { layer: spec.name, rank: i + 1 });
    });
  }
  for (const spec of layers) owners.set(spec.name, { layer: spec.name, rank: 0 });
  const prefixes = [...owners.keys()];
  const modelPrefix = enclosingModelPrefix(weightNames, prefixes);
  const byLayer = new Map<string, Map<string, { rank: number; names: string[] }>>();
  for (const name of weightNames) {
    const inner =
      modelPrefix !== undefined && name.startsWith(modelPrefix)
        ? owningLayer(name.slice(modelPrefix.length), prefixes)
        : undefined;
    const prefix = inner !== undefined ? `${modelPrefix}${inner}` : owningLayer(name, prefixes);
    if (prefix === undefined) {
      throw new ModelFileError(
        file,
        `weight "${name}" belongs to no layer of the model config; expected names of the form "<layer name>/<weight>"`,
      );
    }
    const owner = owners.get(inner ?? prefix)!;
    const groups = byLayer.get(owner.layer) ?? new Map<string, { rank: number; names: string[] }>();
    const group = groups.get(prefix) ?? { rank: owner.rank, names: [] };
    group.names.push(name);
    groups.set(prefix, group);
    byLayer.set(owner.layer, groups);
  }
  for (const layer of layers) {
    const groups = [...(byLayer.get(layer.name)?.entries() ?? [])].sort((a, b) => a[1].rank - b[1].rank);
    layer.weights = groups.flatMap(([prefix, group]) => sortLayerWeights(prefix, group.names));
  }
}

/**
 * The "<model name>/" every weight name starts with when a converter names weights by their full path from the
 * model (the tensorflowjs converter with Keras 3 writes "sequential/dense/kernel" for layer "dense"), or
 * undefined. Used only when no weight name starts with a layer name and all share that first segment, which
 * is itself no layer: then each weight binds to the layer its path names after it.
 */
function enclosingModelPrefix(weightNames: readonly string[], prefixes: readonly string[]): string | undefined {
  if (weightNames.length === 0 || weightNames.some((n) => owningLayer(n, prefixes) !== undefined)) return undefined;
  const head = weightNames[0]!.split("/")[0]!;
  if (prefixes.includes(head) || !weightNames.every((n) => n.startsWith(`${head}/`))) return undefined;
  return `${head}/`;
}
