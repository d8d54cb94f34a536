/**
 * A weights-only checkpoint (Keras `save_weights` .h5, Keras 3 `.weights.h5`) given the architecture of another
 * file: the weights stay the checkpoint's, the layers come from the architecture. The checkpoint's weights layout is
 * checked against the architecture (layer names, then each layer's weight count, then shapes) before it is used.
 */
import { ModelFileError } from "../errors.js";
import { checkLayerShapes, WEIGHTED_CLASSES } from "../keras/layer-shapes.js";
import type { Architecture, LayerSpec, ModelFile, ModelManifest } from "../model.js";
import { formatShape, sameShape, type TensorInfo } from "../tensor.js";
import { layerGroups } from "./keras-zip/layout.js";

/** The architecture of a model, and (for a full model) the shapes of each layer's weights, in the layer's order. */
export interface ArchitectureSource {
  path: string;
  architecture: Architecture;
  /** By layer name; absent for a topology JSON, whose layers' shapes only the config's units/filters tell. */
  shapes?: Map<string, number[][]>;
  trainingConfig?: unknown;
}

/** The manifest metadata `kind` of a Keras 3 `.weights.h5`, whose groups are named after layer classes. */
export const KERAS3_WEIGHTS_KIND = "keras3-weights";

/** True for a manifest whose file records no architecture that another file could supply. */
export function isWeightsOnly(manifest: ModelManifest): boolean {
  const kind = manifest.metadata.kind;
  return !manifest.architecture && (kind === "weights-only" || kind === KERAS3_WEIGHTS_KIND);
}

/** The checkpoint's tensors per layer (as the architecture names its layers), in the file's order. */
function tensorsByLayer(checkpoint: ModelManifest, architecture: Architecture): Map<string, TensorInfo[]> {
  const rename = new Map<string, string>();
  if (checkpoint.metadata.kind === KERAS3_WEIGHTS_KIND && architecture.raw && typeof architecture.raw === "object") {
    for (const g of layerGroups(architecture.raw as Record<string, unknown>, ""))
      rename.set(g.path.slice("layers/".length), g.layer);
  }
  const byLayer = new Map<string, TensorInfo[]>();
  for (const t of checkpoint.tensors) {
    const layer = rename.get(t.layer) ?? t.layer;
    let list = byLayer.get(layer);
    if (!list) byLayer.set(layer, (list = []));
    list.push(t);
  }
  return byLayer;
}

/** The first way the checkpoint's weights differ from the architecture's, or undefined when they fit. */
function firstMismatch(
  byLayer: Map<string, TensorInfo[]>,
  source: ArchitectureSource,
  weighted: LayerSpec[],
): string | undefined {
  const names = new Set(weighted.map((l) => l.name));
  const missing = weighted.find((l) => !byLayer.has(l.name));
  if (missing) return `it has no weights for layer "${missing.name}" (${missing.className})`;
  const extra = [...byLayer.keys()].find((l) => !names.has(l) && l !== "");
  if (extra !== undefined) return `it has weights for layer "${extra}", which the architecture does not have`;
  for (const layer of weighted) {
    const tensors = byLayer.get(layer.name)!;
    const expected = source.shapes?.get(layer.name);
    const count = expected?.length ?? layer.weights.length;
    if (count > 0 && tensors.length !== count)
      return `layer "${layer.name}" (${layer.className}) has ${tensors.length} weight(s) in it, ${count} in the architecture`;
  }
  for (const layer of weighted) {
    const tensors = byLayer.get(layer.name)!;
    const expected = source.shapes?.get(layer.name);
    if (expected) {
      const k = tensors.findIndex((t, i) => !sameShape(t.shape, expected[i]!));
      if (k >= 0)
        return `weight "${tensors[k]!.name}" of layer "${layer.name}" has shape ${formatShape(tensors[k]!.shape)}, the architecture's ${formatShape(expected[k]!)}`;
    } else {
      try {
        checkLayerShapes("", { ...layer, weights: tensors.map((t) => t.name) }, tensors);
      } catch (error) {
        if (error instanceof ModelFileError) return error.expected;
        throw error;
      }
    }
  }
  return undefined;
}

/** Layers that hold weights in the architecture: by the full model's own tensors, else by class (config only). */
function weightedLayers(source: ArchitectureSource, byLayer: Map<string, TensorInfo[]>): LayerSpec[] {
  const { layers } = source.architecture;
  if (source.shapes) return layers.filter((l) => (source.shapes!.get(l.name)?.length ?? 0) > 0);
  // A topology JSON says nothing of weights: a layer holds some when the checkpoint has them or its class always does.
  return layers.filter((l) => byLayer.has(l.name) || WEIGHTED_CLASSES.has(l.className));
}

/** Why `checkpoint` cannot take `source`'s architecture, or undefined when it can. */
export function layoutMismatch(checkpoint: ModelManifest, source: ArchitectureSource): string | undefined {
  const byLayer = tensorsByLayer(checkpoint, source.architecture);
  return firstMismatch(byLayer, source, weightedLayers(source, byLayer));
}

/**
 * The checkpoint's manifest with the architecture of `source`: each layer's weights are the checkpoint's tensors of
 * that layer. A checkpoint whose layout does not fit is refused with one line naming both files and the first
 * difference.
 */
export function withArchitecture(checkpoint: ModelManifest, source: ArchitectureSource): ModelManifest {
  const byLayer = tensorsByLayer(checkpoint, source.architecture);
  const mismatch = firstMismatch(byLayer, source, weightedLayers(source, byLayer));
  if (mismatch !== undefined)
    throw new ModelFileError(checkpoint.path, `does not fit the architecture of ${source.path}: ${mismatch}`);
  const layers = source.architecture.layers.map((l) => ({
    ...l,
    weights: (byLayer.get(l.name) ?? []).map((t) => t.name),
  }));
  const renamed = new Map<string, string>();
  for (const [layer, tensors] of byLayer) for (const t of tensors) renamed.set(t.name, layer);
  const manifest: ModelManifest = {
    ...checkpoint,
    architecture: { ...source.architecture, layers },
    tensors: checkpoint.tensors.map((t) => ({ ...t, layer: renamed.get(t.name) ?? t.layer })),
    metadata: { ...checkpoint.metadata, architecture: source.path },
    warnings: checkpoint.warnings.filter((w) => !/architecture is unknown|records no architecture/.test(w)),
  };
  const trainingConfig = checkpoint.trainingConfig ?? source.trainingConfig;
  if (trainingConfig !== undefined) manifest.trainingConfig = trainingConfig;
  return manifest;
}

/** An open weights-only checkpoint seen through the architecture of `source` (its tensors are read as they are). */
export function fitModelFile(file: ModelFile, source: ArchitectureSource | undefined): ModelFile {
  if (source === undefined || !isWeightsOnly(file.manifest)) return file;
  const manifest = withArchitecture(file.manifest, source);
  return { manifest, readTensor: (name, options) => file.readTensor(name, options), close: () => file.close() };
}
