// The one learner (learn/learn.ts) on TensorFlow.js, for callers that hold a SoupProblem and split tensors: builds
// the TfjsEngine, resolves the objective from the model and the labels, learns, and hands the kept statistics back
// with the model variables they belong in (what the TF.js writers and the recipe's overrides take).
import { UsageError } from "../../core/errors.js";
import type { BatchNormStatistics } from "../learn/batchnorm.js";
import { learnCoefficients, type LearnOptions, type LearnResult } from "../learn/learn.js";
import type { LossSpec } from "../learn/loss.js";
import { LEARN_DEFAULTS } from "../../protocol/learn-defaults.js";
import { resolveObjective, type ObjectiveName } from "../learn/objective.js";
import { dataSize, type SoupData, type SoupProblem } from "../learn/problem.js";
import { TfjsEngine } from "./tfjs-engine.js";

export interface TfjsLearnOptions extends LearnOptions {
  readonly objective?: ObjectiveName;
  /** The loss; default: the problem's, else from trainingConfig, else chosen from the output layer and the labels. */
  readonly loss?: LossSpec;
  /** The Keras training_config of the model file, when it has one. */
  readonly trainingConfig?: unknown;
}

export type TfjsLearnResult = Omit<LearnResult, "batchNormStatistics"> & {
  /** The kept soup's re-estimated statistics, as they are in the model and must be written. */
  readonly batchNormStatistics?: BatchNormStatistics;
};

/** learnCoefficients through a TfjsEngine on these splits; leaves the kept soup in the problem's model. */
export async function learnOnTfjs(
  problem: SoupProblem,
  learnData: SoupData,
  validationSplit: SoupData | undefined,
  options: TfjsLearnOptions = {},
): Promise<TfjsLearnResult> {
  const objectiveName = options.objective ?? LEARN_DEFAULTS.objective;
  const objective = resolveObjective(problem.model, objectiveName, learnData, {
    ...options,
    loss: options.loss ?? problem.loss,
  });
  const validation = validationSplit !== undefined && dataSize(validationSplit) > 0 ? validationSplit : undefined;
  if (validation !== undefined && validation.y === undefined && objectiveName === "supervised") {
    throw new UsageError("The validation split has no labels.");
  }
  const engine = new TfjsEngine(
    problem,
    { learn: learnData, ...(validation !== undefined ? { validation } : {}) },
    { batchSize: Math.max(options.batchSize ?? LEARN_DEFAULTS.batchSize, 1024), cancel: options.cancel },
  );
  try {
    const { batchNormStatistics, ...result } = await learnCoefficients(engine, objective, options);
    return {
      ...result,
      ...(batchNormStatistics !== undefined ? { batchNormStatistics: engine.statistics(batchNormStatistics) } : {}),
    };
  } finally {
    await engine.dispose();
  }
}
