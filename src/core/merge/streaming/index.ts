export { streamMerge, streamLinearMerge } from "./stream-merge.js";
export { linearCombine } from "./linear-combine.js";
export type {
  CombineTensors,
  StreamLinearMergeOptions,
  StreamMergeOptions,
  StreamMergeResult,
  TensorMergeInfo,
} from "./types.js";
