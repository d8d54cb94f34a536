// Kernels that TF.js 4.22 lacks, gets wrong or runs slowly on a backend, built from operations each backend has,
// registered once per backend when the worker selects it. What each one fixes is said in its module.
import * as tf from "@tensorflow/tfjs";
import { batchMatMulConfig } from "./batch-matmul.js";
import { fusedBatchNormConfig } from "./batchnorm-forward.js";
import { registerBatchNormGradient } from "./batchnorm-gradient.js";
import { registerComparisonGradients } from "./comparison-gradients.js";
import { conv2dBackpropFilterConfig } from "./conv2d-backprop-filter.js";
import { conv2dBackpropInputConfig } from "./conv2d-backprop-input.js";
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from "./depthwise-backprop.js";
import { poolingKernels } from "./pooling.js";
import { perBatchRow } from "./resize-nearest-grad.js";
import { sliceConfig } from "./slice.js";
import { unsortedSegmentSumConfig } from "./unsorted-segment-sum.js";

/** Kernels the wasm backend does not have at all. */
const MISSING_ON_WASM: readonly tf.KernelConfig[] = [
  conv2dBackpropFilterConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
  unsortedSegmentSumConfig,
];

const registered = new Set<string>();

function replaceKernel(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName) !== undefined)
    tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}

/**
 * Registers the missing wasm kernels (each only if wasm lacks it: a later release may bring its own) and replaces
 * its wrong pooling kernels, its slow Conv2DBackpropInput, transposed BatchMatMul, FusedBatchNorm and Slice (which
 * copied its whole input), and TF.js's
 * tiling BatchNormalization gradient. Idempotent. Returns the kernel names it registered.
 */
export function registerWasmGradientKernels(): string[] {
  if (registered.has("wasm")) return [];
  registered.add("wasm");
  registerComparisonGradients();
  registerBatchNormGradient();
  const added = MISSING_ON_WASM.filter((config) => tf.getKernel(config.kernelName, "wasm") === undefined);
  added.forEach((config) => tf.registerKernel(config));
  const replaced = [conv2dBackpropInputConfig, ...poolingKernels("wasm")];
  const matMul = tf.getKernel("BatchMatMul", "wasm");
  if (matMul !== undefined) replaced.push(batchMatMulConfig(matMul));
  const batchNorm = tf.getKernel("FusedBatchNorm", "wasm");
  if (batchNorm !== undefined) replaced.push(fusedBatchNormConfig(batchNorm));
  const slice = tf.getKernel("Slice", "wasm");
  if (slice !== undefined) replaced.push(sliceConfig(slice));
  replaced.forEach(replaceKernel);
  return [...added, ...replaced].map((c) => c.kernelName);
}

/** Replaces the cpu backend's wrong AvgPoolGrad/AvgPool3DGrad and ResizeNearestNeighborGrad. Idempotent. */
export function registerCpuGradientKernels(): string[] {
  if (registered.has("cpu")) return [];
  registered.add("cpu");
  registerComparisonGradients();
  registerBatchNormGradient();
  const replaced = poolingKernels("cpu");
  const resize = tf.getKernel("ResizeNearestNeighborGrad", "cpu");
  if (resize !== undefined) replaced.push(perBatchRow(resize));
  replaced.forEach(replaceKernel);
  return replaced.map((c) => c.kernelName);
}

export { registerComparisonGradients };
