// Learns the soup's mixing coefficients (only those: every ingredient stays frozen) on a learning split, with
// early stopping on a validation split; leaves the best soup in the model's variables.
import * as tf from "@tensorflow/tfjs";
import { UsageError } from "../../core/errors.js";
import { Adam } from "./adam.js";
import { mulberry32 } from "../../core/random.js";
import { epochBatches, gatherRows, shuffledIndices } from "./batches.js";
import { hasBatchNorm, reestimateBatchNorm } from "./batchnorm.js";
import type { Cancellation } from "./cancel.js";
import {
  coefficientSpace,
  coefficientsByIngredient,
  coefficientsOf,
  initialTheta,
  project,
  type CoefficientSpace,
  type Granularity,
  type Parameterisation,
} from "./coefficients.js";
import { scoreModel, SoupGradient, type SplitScore } from "./gradient.js";
import { minimizeLbfgs } from "./lbfgs.js";
import type { LossSpec, Task } from "./loss.js";
import { Merger } from "./merge.js";
import { resolveObjective, type ObjectiveName } from "./objective.js";
import type { SoupData, SoupProblem } from "./problem.js";
import { nextStep } from "./yield.js";

export type OptimizerName = "adam" | "lbfgs";

export interface LearnProgress {
  readonly step: number;
  readonly trainLoss: number;
  /** Latest validation objective (Adam evaluates once per epoch by default, L-BFGS every iteration). */
  readonly validationLoss?: number;
  readonly validationMetric?: number;
  readonly coefficients: number[][];
}

export interface LearnOptions {
  readonly granularity?: Granularity;
  readonly parameterisation?: Parameterisation;
  readonly objective?: ObjectiveName;
  /** The loss; default: from trainingConfig, else chosen from the output layer and the labels. */
  readonly loss?: LossSpec;
  /** The Keras training_config of the model file, when it has one. */
  readonly trainingConfig?: unknown;
  /**
   * Default "adam". "lbfgs" (full-batch quasi-Newton, unconstrained parameterisations only) did not reach the
   * PyTorch reference's validation loss sooner in bench/learned-soup, so it is opt-in.
   */
  readonly optimizer?: OptimizerName;
  /** Adam learning rate (default 0.05, the model-soups recipe). */
  readonly learningRate?: number;
  /** Adam epochs (default 10). */
  readonly epochs?: number;
  /** Adam mini-batch size, and chunk size of L-BFGS full-batch passes (default 256). */
  readonly batchSize?: number;
  /** Validation evaluations without improvement before stopping (default 3). */
  readonly patience?: number;
  /** L-BFGS iterations (default 50). */
  readonly maxIterations?: number;
  /** L-BFGS uses at most this many learning samples, a fixed seeded subset (default 8192). */
  readonly fullBatchLimit?: number;
  /** Starting coefficient per ingredient; default 1/N each (the uniform soup, also in the task-vector form). */
  readonly init?: readonly number[];
  readonly seed?: number;
  /** Re-estimate BatchNormalization statistics of the final soup on the learning data (default: when present). */
  readonly reestimateBatchNorm?: boolean;
  readonly onProgress?: (progress: LearnProgress) => void;
  readonly cancel?: Cancellation;
}

export interface LearnResult {
  /** Per ingredient: one coefficient (model granularity) or one per group (layer granularity). */
  readonly coefficients: number[][];
  /** Group names: ["*"] at model granularity, layer names at layer granularity. */
  readonly groups: readonly string[];
  readonly granularity: Granularity;
  readonly parameterisation: Parameterisation;
  readonly optimizer: OptimizerName;
  readonly task: Task;
  readonly objective: ObjectiveName;
  readonly steps: number;
  /** Step whose coefficients were kept (0 = the starting soup). */
  readonly bestStep: number;
  /** Validation score of the kept soup before and after BatchNormalization re-estimation. */
  readonly validation?: SplitScore;
  readonly validationAfterBatchNorm?: SplitScore;
  readonly batchNormReestimated: readonly string[];
  readonly stoppedBy: "early-stopping" | "epochs" | "converged" | "iterations";
}

interface Best {
  theta: Float64Array;
  score?: SplitScore;
  step: number;
}

/**
 * Yields to the event loop before every step and every evaluation batch, so a cancellation (or a progress
 * notification) gets through within one step; rejects with CancelledError when `cancel` asks to stop.
 */
export async function learnCoefficients(
  problem: SoupProblem,
  learnData: SoupData,
  validationData: SoupData | undefined,
  options: LearnOptions = {},
): Promise<LearnResult> {
  const granularity = options.granularity ?? "model";
  const parameterisation = options.parameterisation ?? "simplex";
  const optimizer = options.optimizer ?? "adam";
  if (optimizer === "lbfgs" && parameterisation === "nonneg") {
    throw new UsageError('L-BFGS is unconstrained: use the "adam" optimiser with the "nonneg" parameterisation.');
  }
  const objectiveName = options.objective ?? "supervised";
  const objective = resolveObjective(problem.model, objectiveName, learnData, options);
  if (validationData !== undefined && validationData.y === undefined && objectiveName === "supervised") {
    throw new UsageError("The validation split has no labels.");
  }
  const space = coefficientSpace(problem.layerOf, problem.ingredients.length, granularity, parameterisation);
  const merger = new Merger(problem, space);
  const gradient = new SoupGradient(merger, objective);
  const batchSize = options.batchSize ?? 256;
  const patience = options.patience ?? 3;
  const cancel = options.cancel;
  const report = (step: number, trainLoss: number, theta: Float64Array, val?: SplitScore) =>
    options.onProgress?.({
      step,
      trainLoss,
      validationLoss: val?.loss,
      validationMetric: val?.metric,
      coefficients: coefficientsByIngredient(space, coefficientsOf(space, theta)),
    });
  const validate = async (theta: Float64Array): Promise<SplitScore | undefined> => {
    if (validationData === undefined) return undefined;
    merger.write(coefficientsOf(space, theta));
    return scoreModel(problem.model, objective, validationData, Math.max(batchSize, 1024), cancel);
  };

  try {
    const theta0 = initialTheta(space, options.init);
    const best: Best = { theta: Float64Array.from(theta0), score: await validate(theta0), step: 0 };
    let badEvaluations = 0;
    // Returns true when early stopping says stop.
    const consider = (theta: Float64Array, step: number, score: SplitScore | undefined): boolean => {
      if (score === undefined) {
        best.theta = Float64Array.from(theta);
        best.step = step;
        return false;
      }
      if (score.loss < best.score!.loss) {
        Object.assign(best, { theta: Float64Array.from(theta), score, step });
        badEvaluations = 0;
        return false;
      }
      return ++badEvaluations >= patience;
    };

    const run =
      optimizer === "adam"
        ? await runAdam(space, gradient, learnData, options, batchSize, consider, validate, report)
        : await runLbfgs(space, gradient, learnData, options, batchSize, consider, validate, report);

    merger.write(coefficientsOf(space, best.theta));
    const reestimate = options.reestimateBatchNorm ?? hasBatchNorm(problem.model);
    const updated = reestimate ? await reestimateBatchNorm(problem.model, learnData.x, Math.max(batchSize, 1024), cancel) : [];
    const after =
      updated.length > 0 && validationData !== undefined
        ? await scoreModel(problem.model, objective, validationData, Math.max(batchSize, 1024), cancel)
        : undefined;
    return {
      coefficients: coefficientsByIngredient(space, coefficientsOf(space, best.theta)),
      groups: space.groups,
      granularity,
      parameterisation,
      optimizer,
      task: objective.task,
      objective: objectiveName,
      steps: run.steps,
      bestStep: best.step,
      validation: best.score,
      validationAfterBatchNorm: after,
      batchNormReestimated: updated,
      stoppedBy: run.stoppedBy,
    };
  } finally {
    merger.dispose();
  }
}

type Consider = (theta: Float64Array, step: number, score: SplitScore | undefined) => boolean;
type Validate = (theta: Float64Array) => Promise<SplitScore | undefined>;
type Report = (step: number, trainLoss: number, theta: Float64Array, val?: SplitScore) => void;
interface Run {
  steps: number;
  stoppedBy: LearnResult["stoppedBy"];
}

async function runAdam(
  space: CoefficientSpace,
  gradient: SoupGradient,
  data: SoupData,
  options: LearnOptions,
  batchSize: number,
  consider: Consider,
  validate: Validate,
  report: Report,
): Promise<Run> {
  const theta = initialTheta(space, options.init);
  const adam = new Adam(theta.length, options.learningRate ?? 0.05);
  const random = mulberry32(options.seed ?? 0);
  const n = data.x.shape[0]!;
  const epochs = options.epochs ?? 10;
  let step = 0;
  let lastScore: SplitScore | undefined;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for await (const { x, y, end } of epochBatches(data, shuffledIndices(n, random), batchSize, options.cancel)) {
      const batch = gradient.batch(theta, x, y);
      adam.step(theta, batch.grad);
      project(space, theta);
      step++;
      let stop = false;
      if (end === n) {
        lastScore = await validate(theta);
        stop = consider(theta, step, lastScore);
      }
      report(step, batch.loss, theta, lastScore);
      if (stop) return { steps: step, stoppedBy: "early-stopping" };
    }
  }
  return { steps: step, stoppedBy: "epochs" };
}

async function runLbfgs(
  space: CoefficientSpace,
  gradient: SoupGradient,
  data: SoupData,
  options: LearnOptions,
  batchSize: number,
  consider: Consider,
  validate: Validate,
  report: Report,
): Promise<Run> {
  const limit = options.fullBatchLimit ?? 8192;
  const n = data.x.shape[0]!;
  const subset =
    n <= limit
      ? undefined
      : Int32Array.from(shuffledIndices(n, mulberry32(options.seed ?? 0)).subarray(0, limit)).sort();
  const full: SoupData =
    subset === undefined
      ? data
      : { x: gatherRows(data.x, subset), y: data.y === undefined ? undefined : gatherRows(data.y, subset) };
  try {
    let stoppedEarly = false;
    const result = await minimizeLbfgs(async (theta) => {
      const { loss, grad } = await gradient.full(theta, full, Math.max(batchSize, 1024), options.cancel);
      return { f: loss, g: grad };
    }, initialTheta(space, options.init), {
      maxIterations: options.maxIterations ?? 50,
      onIteration: async (iteration, theta, f) => {
        const score = await validate(theta);
        stoppedEarly = consider(theta, iteration, score);
        report(iteration, f, theta, score);
        return stoppedEarly;
      },
    });
    const stoppedBy = stoppedEarly ? "early-stopping" : result.reason === "iterations" ? "iterations" : "converged";
    return { steps: result.iterations, stoppedBy };
  } finally {
    if (full !== data) tf.dispose([full.x, full.y].filter((t): t is tf.Tensor => t !== undefined));
  }
}
