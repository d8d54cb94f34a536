export { evaluateSoups, taskFor, type EvaluateOptions, type SoupEvaluation } from "./evaluate.js";
export { mergeability, isHighBarrier, type Mergeability, type PairMergeability } from "./mergeability.js";
export { greedySoup, type GreedySoup, type GreedyStep } from "./greedy.js";
export { applyMix, MixWriter, singleMix, subsetMix, uniformMix, type Mix } from "./soup.js";
export type { Score } from "./score.js";
