import { ModelFileError } from "../errors.js";
import type { LayerSpec } from "../model.js";
import { type TensorInfo, formatShape, sameShape } from "../tensor.js";

function positiveInt(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : undefined;
}

const CONV_RANK: Record<string, number> = {
  Conv1D: 3,
  Conv2D: 4,
  Conv3D: 5,
  Convolution1D: 3,
  Convolution2D: 4,
  Convolution3D: 5,
};

/**
 * Checks a layer's weight tensors against what its config says (Dense units, Conv filters, Embedding sizes,
 * BatchNormalization channels), so a file whose weights disagree with its architecture is refused on reading.
 * Layers of other classes are not checked here: their shapes depend on inputs the config does not state.
 */
export function checkLayerShapes(file: string, layer: LayerSpec, tensors: readonly TensorInfo[]): void {
  const fail = (tensor: TensorInfo, expected: string) => {
    throw new ModelFileError(
      file,
      `tensor "${tensor.name}" of layer "${layer.name}" (${layer.className}) has shape ${formatShape(tensor.shape)}; ` +
        `its config expects ${expected}`,
    );
  };
  const c = layer.config;
  // Kernel first, then bias, whatever order the file listed them in (names a reader could not rank keep file order).
  const kernelFirst = [...tensors].sort((a, b) => (b.shape.length > 1 ? 1 : 0) - (a.shape.length > 1 ? 1 : 0));
  const [first, second] =
    layer.className === "Dense" || CONV_RANK[layer.className] !== undefined ? kernelFirst : tensors;
  if (layer.className === "Dense") {
    const units = positiveInt(c.units);
    if (units === undefined || !first) return;
    if (first.shape.length !== 2 || first.shape[1] !== units) fail(first, `a kernel of shape [inputs, ${units}]`);
    if (c.use_bias !== false && second && !sameShape(second.shape, [units])) fail(second, `a bias of shape [${units}]`);
  } else if (CONV_RANK[layer.className] !== undefined) {
    const filters = positiveInt(c.filters);
    const rank = CONV_RANK[layer.className]!;
    if (filters === undefined || !first) return;
    if (first.shape.length !== rank || first.shape[rank - 1] !== filters)
      fail(first, `a rank-${rank} kernel ending in ${filters} filters`);
    if (c.use_bias !== false && second && !sameShape(second.shape, [filters]))
      fail(second, `a bias of shape [${filters}]`);
  } else if (layer.className === "Embedding") {
    const inputDim = positiveInt(c.input_dim);
    const outputDim = positiveInt(c.output_dim);
    if (inputDim && outputDim && first && !sameShape(first.shape, [inputDim, outputDim]))
      fail(first, `[${inputDim}, ${outputDim}]`);
  } else if (layer.className === "BatchNormalization" && first) {
    for (const t of tensors)
      if (!sameShape(t.shape, first.shape)) fail(t, `the same shape as "${first.name}" ${formatShape(first.shape)}`);
  }
}

/** Layer classes that always hold weights once built (a saved model's layers are built). */
export const WEIGHTED_CLASSES: ReadonlySet<string> = new Set([
  "Dense",
  "Conv1D",
  "Conv2D",
  "Conv3D",
  "Convolution1D",
  "Convolution2D",
  "Convolution3D",
  "Conv1DTranspose",
  "Conv2DTranspose",
  "Conv3DTranspose",
  "DepthwiseConv2D",
  "SeparableConv1D",
  "SeparableConv2D",
  "Embedding",
  "BatchNormalization",
  "LSTM",
  "GRU",
  "SimpleRNN",
]);

/**
 * Refuses a model one of whose weighted layers (Dense, convolutions, Embedding, ...) has no weights in the file:
 * merged as is, the output would silently lose that layer's weights.
 */
export function requireLayerWeights(file: string, layers: readonly LayerSpec[]): void {
  for (const layer of layers) {
    if (WEIGHTED_CLASSES.has(layer.className) && layer.weights.length === 0) {
      throw new ModelFileError(
        file,
        `has no weights for layer "${layer.name}" (${layer.className}); expected its weights in the file`,
      );
    }
  }
}
