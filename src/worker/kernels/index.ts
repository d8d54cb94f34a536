// Gradient kernels the wasm backend of TF.js 4.x lacks, built from operations it has; and zero gradients for
// comparisons, which TF.js lacks on every backend.
import * as tf from "@tensorflow/tfjs";
import { registerComparisonGradients } from "./comparison-gradients.js";
import { conv2dBackpropFilterConfig } from "./conv2d-backprop-filter.js";
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from "./depthwise-backprop.js";
import { unsortedSegmentSumConfig } from "./unsorted-segment-sum.js";

export const WASM_GRADIENT_KERNELS: readonly tf.KernelConfig[] = [
  conv2dBackpropFilterConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
  unsortedSegmentSumConfig,
];

export { registerComparisonGradients };

/** Registers each kernel that wasm does not already have (a later wasm release may bring its own). Idempotent. */
export function registerWasmGradientKernels(): string[] {
  const added: string[] = [];
  for (const config of WASM_GRADIENT_KERNELS) {
    if (tf.getKernel(config.kernelName, "wasm") !== undefined) continue;
    tf.registerKernel(config);
    added.push(config.kernelName);
  }
  return added;
}
