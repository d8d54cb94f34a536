import type { TensorInfo } from "../../tensor.js";
import type { Cancellation } from "../../cancellation.js";
import type { WeightedSumTerms } from "../weighted-sum-kernel.js";

export interface TensorMergeInfo extends TensorInfo {
  /** Position of this tensor in the output, and how many tensors the output has. */
  index: number;
  count: number;
  /** First element of this piece within the tensor (0 unless the merge is elementwise and the tensor large). */
  offset: number;
  /**
   * A scratch array of the piece's length that the combine function may fill and return, so no new
   * allocation is needed per tensor. It is reused for the next piece once this one is written.
   */
  output: Float32Array;
}

/**
 * Combines one tensor (or, for an elementwise merge, one piece of it) of every input — float32 values, in
 * input order — into the merged values. The arrays are reused after the call: do not keep references.
 */
export type CombineTensors = (tensors: Float32Array[], info: TensorMergeInfo) => Float32Array | Promise<Float32Array>;

export type ObserveRead = (file: string, position: number, bytes: Uint8Array) => Promise<void> | void;

export interface StreamMergeOptions {
  /** safetensors files or shard indexes, all with the same tensor names, shapes and dtypes. */
  inputs: string[];
  /** Output path: a .safetensors file, or NAME.safetensors.index.json when the first input is sharded. */
  target: string;
  combine: CombineTensors;
  /**
   * True when `combine` treats every element on its own (linear, task arithmetic): large tensors are then
   * streamed in pieces. Leave false for methods that look at a whole tensor (TIES top-k, SLERP norms).
   */
  elementwise?: boolean;
  /**
   * For a tensor that `combine` merges as exactly weightedSumInto(out, inputs, weights, scale) (a linear merge):
   * those terms, aligned with `inputs`. Its float32, bfloat16 and float16 pieces then go through one fused pass (decode,
   * sum, check, encode: fused-sum/); `combine` still merges the other dtypes and any piece with a value that
   * is not finite or too large to store, so warnings and errors are the same. Undefined: `combine` merges it.
   */
  weightedSum?: (info: TensorInfo) => WeightedSumTerms | undefined;
  /** Elements per piece of an elementwise merge (default 1 Mi: 4 MiB of float32). */
  pieceElements?: number;
  /** Called after each tensor or piece with the bytes of input tensor data processed so far and in all. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  cancel?: Cancellation;
  /**
   * Told of every range of input bytes the merge reads for combining, file by file in the order read, with the
   * bytes (for hashing them on the way: see recipe/hash.ts FileHashes). The bytes stay untouched until the
   * returned promise settles.
   */
  onRead?: ObserveRead;
  /** Added to each output file's __metadata__ (e.g. the recipe). */
  metadata?: Record<string, string>;
  /**
   * The input whose tensors that are not merged (integer, bool) are copied (merge/plan.ts keptFrom: the base's);
   * default the first. 8-bit floats are always copied from the first, whose layout the output has.
   */
  copyFrom?: number;
}

export interface StreamLinearMergeOptions extends Omit<StreamMergeOptions, "combine" | "elementwise"> {
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
