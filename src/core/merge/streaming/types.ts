import type { TensorInfo } from "../../tensor.js";
import type { Cancellation } from "./cancellation.js";

export interface TensorMergeInfo extends TensorInfo {
  /** Position of this tensor in the output, and how many tensors are merged in all. */
  index: number;
  count: number;
  /**
   * A scratch array of the tensor's length that the combine function may fill and return, so no new
   * allocation is needed per tensor. It is reused for the next tensor once this one is written.
   */
  output: Float32Array;
}

/**
 * Combines one tensor of every input (float32 values, in input order) into the merged tensor. The inputs'
 * arrays are reused after the call returns: do not keep references to them.
 */
export type CombineTensors = (tensors: Float32Array[], info: TensorMergeInfo) => Float32Array | Promise<Float32Array>;

export interface StreamMergeOptions {
  /** safetensors files or shard indexes, all with the same tensor names, shapes and dtypes. */
  inputs: string[];
  /** Output path: a .safetensors file, or NAME.safetensors.index.json when the first input is sharded. */
  target: string;
  combine: CombineTensors;
  /** Called after each tensor with the bytes of input tensor data processed so far and in all. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  signal?: Cancellation;
  /** Added to each output file's __metadata__ (e.g. the recipe). */
  metadata?: Record<string, string>;
}

export interface StreamLinearMergeOptions extends Omit<StreamMergeOptions, "combine"> {
  /** One weight per input. */
  weights: number[];
}

export interface StreamMergeResult {
  /** Every file written (shards, then the index when sharded). */
  files: string[];
  /** Tensors combined by the combine function. */
  merged: number;
  /** Tensors copied from the first input unchanged: integer and bool tensors, and 8-bit floats (not writable). */
  copied: string[];
  /** NaN/Inf values in merged tensors, 8-bit float tensors left unmerged, and the inputs' own warnings. */
  warnings: string[];
  bytesRead: number;
}
