import type * as tf from "@tensorflow/tfjs";
import { ModelFileError } from "../../core/errors.js";
import type { ModelManifest } from "../../core/model.js";
import { formatShape, sameShape } from "../../core/tensor.js";

/** One variable of the tfjs model and the manifest tensor that holds its values. */
export interface WeightBinding {
  variable: tf.LayerVariable;
  /** The tensor's name in the manifest (the key for readTensor and for writing). */
  tensor: string;
  layer: string;
}

/**
 * A layer's variables in the order the manifests list them: a nested model's per inner layer (tfjs's own
 * `weights` of a model lists every trainable variable before every non-trainable one).
 */
function layerVariables(layer: tf.layers.Layer): tf.LayerVariable[] {
  const inner = (layer as unknown as { layers?: tf.layers.Layer[] }).layers;
  return Array.isArray(inner) ? inner.flatMap(layerVariables) : layer.weights;
}

/**
 * Pairs every variable of `model` with its manifest tensor: layer by layer (by name), and within a layer
 * by the layer's own weight order, which both the manifest (LayerSpec.weights) and tfjs (layer.weights)
 * follow. Shapes are checked; never matched by global position.
 */
export function bindWeights(manifest: ModelManifest, model: tf.LayersModel): WeightBinding[] {
  const file = manifest.path;
  if (!manifest.architecture)
    throw new ModelFileError(file, "records no architecture, so its weights cannot be bound to a model");
  const shapes = new Map(manifest.tensors.map((t) => [t.name, t.shape]));
  const bindings: WeightBinding[] = [];
  const boundLayers = new Set<string>();
  for (const spec of manifest.architecture.layers) {
    // Weightless layers need no counterpart (a Sequential's InputLayer becomes the first layer's input shape).
    if (spec.weights.length === 0) continue;
    let layer: tf.layers.Layer;
    try {
      layer = model.getLayer(spec.name);
    } catch {
      throw new ModelFileError(file, `layer "${spec.name}" is missing from the TF.js model built from its config`);
    }
    boundLayers.add(spec.name);
    const variables = layerVariables(layer);
    if (variables.length !== spec.weights.length) {
      throw new ModelFileError(
        file,
        `layer "${spec.name}" (${spec.className}) has ${spec.weights.length} weights in the file ` +
          `(${spec.weights.join(", ") || "none"}) but ${variables.length} in TF.js (${variables.map((v) => v.originalName).join(", ")})`,
      );
    }
    for (const [i, variable] of variables.entries()) {
      const tensor = spec.weights[i]!;
      const shape = shapes.get(tensor);
      if (!shape || !sameShape(shape, variable.shape as number[])) {
        throw new ModelFileError(
          file,
          `weight "${tensor}" of layer "${spec.name}" has shape ${shape ? formatShape(shape) : "(not in the manifest)"}; ` +
            `TF.js expects ${formatShape(variable.shape as number[])} for ${variable.originalName}`,
        );
      }
      bindings.push({ variable, tensor, layer: spec.name });
    }
  }
  for (const layer of model.layers) {
    if (!boundLayers.has(layer.name) && layer.weights.length > 0) {
      throw new ModelFileError(
        file,
        `TF.js layer "${layer.name}" has weights that the file's config does not describe`,
      );
    }
  }
  return bindings;
}
