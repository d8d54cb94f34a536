/**
 * A model's fingerprint: what must agree for two models' weights to be averaged, with every name left out.
 *
 * With an architecture (Keras, TF.js): the input nodes (shape, dtype), then each layer in the config's
 * topological order with its class, its normalised config (layer-config.ts), the positions of the nodes that
 * feed it, and the shape and dtype of each of its weights in the layer's own order. Inputs are nodes 0..I-1 and
 * layers I.. onward, whether the file declares its input as an InputLayer (functional models, Keras 2.1
 * Sequential) or on its first layer (Sequential), so a Sequential model and the linear-chain functional model
 * of the same layers fingerprint the same. The model's declared outputs are left out: they choose which
 * tensors a caller gets back (the TF.js LeNet `c` returns every intermediate layer), not the weights or how
 * they are wired.
 *
 * Without an architecture (safetensors, weights-only HDF5): tensor names, shapes and dtypes, sorted by name,
 * since names are then the only way to tell which tensor is which.
 */
import { createHash } from "node:crypto";
import type { LayerSpec, ModelManifest } from "../model.js";
import type { TensorInfo } from "../tensor.js";
import { canonicalClassName, declaredInputDtype, declaredInputShape, normaliseLayerConfig } from "./layer-config.js";

export interface WeightSignature {
  shape: number[];
  dtype: string;
}

export interface InputNode {
  /** Batch dimension included; null where the file leaves a dimension (or the whole shape) open. */
  shape: (number | null)[] | null;
  dtype: string;
}

export interface LayerNode {
  className: string;
  config: Record<string, unknown>;
  /** Node positions feeding this layer: inputs are 0..inputs.length-1, layer k is inputs.length + k. */
  inbound: number[];
  weights: WeightSignature[];
}

export interface ArchitectureFingerprint {
  kind: "architecture";
  inputs: InputNode[];
  layers: LayerNode[];
  /** Tensors of the manifest that no layer claims, in manifest order. */
  unassigned: WeightSignature[];
  /** SHA-256 of the fingerprint's canonical JSON: equal keys mean equal fingerprints. */
  key: string;
}

export interface TensorListFingerprint {
  kind: "tensors";
  tensors: { name: string; shape: number[]; dtype: string }[];
  key: string;
}

export type Fingerprint = ArchitectureFingerprint | TensorListFingerprint;

/** Where a tensor sits in a fingerprint: which layer (or none), which of its weights. */
export interface TensorPosition {
  name: string;
  /** Index into `layers`, or -1 for an unassigned tensor. */
  layer: number;
  /** Index among the layer's weights, or among the unassigned tensors. */
  index: number;
}

/** A manifest with its fingerprint and what the comparisons need to name things in messages. */
export interface FingerprintedModel {
  manifest: ModelManifest;
  fingerprint: Fingerprint;
  /** Every tensor in fingerprint order (layer by layer, then unassigned). */
  order: TensorPosition[];
  /** The file's name for each fingerprint layer, for messages. */
  layerNames: string[];
  /** The file's name for each input node, for messages. */
  inputNames: string[];
}

function hash(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex");
}

function signature(info: TensorInfo | undefined): WeightSignature {
  return info ? { shape: [...info.shape], dtype: info.dtype } : { shape: [], dtype: "missing" };
}

/** A layer's weight names: as the reader listed them, else the tensors the manifest assigns to the layer. */
function weightNamesOf(layer: LayerSpec, tensors: readonly TensorInfo[]): string[] {
  if (layer.weights.length > 0) return layer.weights;
  return tensors.filter((t) => t.layer === layer.name).map((t) => t.name);
}

function fingerprintTensorList(manifest: ModelManifest): FingerprintedModel {
  const tensors = [...manifest.tensors]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((t) => ({ name: t.name, shape: [...t.shape], dtype: t.dtype as string }));
  const body = { kind: "tensors" as const, tensors };
  return {
    manifest,
    fingerprint: { ...body, key: hash(body) },
    order: tensors.map((t, index) => ({ name: t.name, layer: -1, index })),
    layerNames: [],
    inputNames: [],
  };
}

function fingerprintArchitecture(manifest: ModelManifest): FingerprintedModel {
  const architecture = manifest.architecture!;
  const byName = new Map(manifest.tensors.map((t) => [t.name, t]));
  const inputLayers = architecture.layers.filter((l) => canonicalClassName(l.className) === "InputLayer");
  const bodyLayers = architecture.layers.filter((l) => canonicalClassName(l.className) !== "InputLayer");

  const inputs: InputNode[] = inputLayers.map((l) => ({
    shape: declaredInputShape(l.config) ?? null,
    dtype: declaredInputDtype(l.config),
  }));
  const inputNames = inputLayers.map((l) => l.name);
  // A Sequential model without an InputLayer declares its input on its first layer.
  const synthesiseInput = inputLayers.length === 0 && bodyLayers.length > 0 && bodyLayers[0]!.inbound.length === 0;
  if (synthesiseInput) {
    const first = bodyLayers[0]!;
    inputs.push({ shape: declaredInputShape(first.config) ?? null, dtype: declaredInputDtype(first.config) });
    inputNames.push(`(input of ${first.name})`);
  }

  const position = new Map<string, number>();
  inputLayers.forEach((l, i) => position.set(l.name, i));
  bodyLayers.forEach((l, k) => position.set(l.name, inputs.length + k));

  const order: TensorPosition[] = [];
  const claimed = new Set<string>();
  const layers: LayerNode[] = bodyLayers.map((layer, k) => {
    const names = weightNamesOf(layer, manifest.tensors);
    names.forEach((name, index) => {
      order.push({ name, layer: k, index });
      claimed.add(name);
    });
    const inbound = synthesiseInput && k === 0 ? [0] : layer.inbound.map((n) => position.get(n) ?? -1);
    return {
      className: canonicalClassName(layer.className),
      config: normaliseLayerConfig(layer.className, layer.config),
      inbound,
      weights: names.map((n) => signature(byName.get(n))),
    };
  });
  const unassigned = manifest.tensors.filter((t) => !claimed.has(t.name));
  unassigned.forEach((t, index) => order.push({ name: t.name, layer: -1, index }));

  const body = { kind: "architecture" as const, inputs, layers, unassigned: unassigned.map(signature) };
  return {
    manifest,
    fingerprint: { ...body, key: hash(body) },
    order,
    layerNames: bodyLayers.map((l) => l.name),
    inputNames,
  };
}

/** Fingerprints a manifest (by architecture when it has one, else by its tensor list). */
export function fingerprintModel(manifest: ModelManifest): FingerprintedModel {
  return manifest.architecture ? fingerprintArchitecture(manifest) : fingerprintTensorList(manifest);
}

export function fingerprint(manifest: ModelManifest): Fingerprint {
  return fingerprintModel(manifest).fingerprint;
}
