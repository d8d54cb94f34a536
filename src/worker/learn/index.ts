export type { SoupData, SoupProblem } from "./problem.js";
export { checkProblem } from "./problem.js";
export type { Granularity, Parameterisation } from "./coefficients.js";
export type { LossName, LossSpec, MetricName, Task } from "./loss.js";
export { lossFromTrainingConfig, resolveTask } from "./loss.js";
export type { ObjectiveName } from "./objective.js";
export {
  learnCoefficients,
  LEARNED,
  type CandidateScore,
  type LearnBudget,
  type LearnOptions,
  type LearnProgress,
  type LearnResult,
  type OptimizerName,
  type StartCandidate,
} from "./learn.js";
export { hasBatchNorm, reestimateBatchNorm } from "./batchnorm.js";
export { readVariables } from "./merge.js";
