// Learns the soup's mixing coefficients (only those: every ingredient stays frozen) on a learning split, with
// early stopping on a validation split; leaves the kept soup written in the engine. The one learner: it drives
// any engine (TF.js in this process, PyTorch in a child) through SoupEngine, handing it row indices, never tensors.
//
// The run, with validation data (docs/learning.md gives the reasons):
// 1. the obvious candidates are scored on validation: the uniform soup, each single ingredient, and any the
//    caller adds (the worker adds the greedy soup); learning starts from the best of them;
// 2. Adam takes at most `maxSteps` steps (a budget in steps, not epochs), evaluates validation every few steps
//    and stops after `patience` steps without a lower validation loss;
// 3. the kept soup is the best on validation among the learned path and every candidate, so learning never ends
//    worse on validation than a candidate it could have returned;
// 4. small data: when the learned path won, it is learned again on learn + validation for the number of steps
//    validation chose (test rows are never seen here: the caller holds them back).
import { UsageError } from "../../core/errors.js";
import { Adam } from "./adam.js";
import { mulberry32 } from "../../core/random.js";
import { shuffledIndices } from "./indices.js";
import { chooseBatchNorm } from "./batchnorm-choice.js";
import type { Cancellation } from "../../core/cancellation.js";
import {
  chainToTheta,
  coefficientSpace,
  coefficientsByIngredient,
  coefficientsOf,
  initialTheta,
  project,
  type CoefficientSpace,
  type Granularity,
  type Parameterisation,
} from "./coefficients.js";
import type { OptimizerName } from "../../protocol/choices.js";
import { LEARN_DEFAULTS, type Schedule } from "../../protocol/learn-defaults.js";
import { evaluationInterval, learningRateAt, patienceSteps } from "./defaults.js";
import { minimizeLbfgs } from "./lbfgs.js";
import type { Task } from "./loss.js";
import type { Objective, ObjectiveName } from "./objective.js";
import type {
  BatchNormState,
  CoefficientLayout,
  EngineScore,
  RowSelection,
  SoupEngine,
} from "../engine/soup-engine.js";
import { nextStep } from "./yield.js";

export type { OptimizerName };

export interface LearnProgress {
  readonly step: number;
  readonly trainLoss: number;
  /** Latest validation objective (Adam evaluates every few steps, L-BFGS every iteration). */
  readonly validationLoss?: number;
  readonly validationMetric?: number;
  readonly coefficients: number[][];
}

/** A soup the learner compares against and may start from: one coefficient per ingredient. */
export interface StartCandidate {
  readonly name: string;
  readonly coefficients: readonly number[];
}

export interface CandidateScore {
  readonly name: string;
  readonly loss: number;
  readonly metric?: number;
  /** True when the candidate is scored (and would be written) with BatchNormalization statistics re-estimated. */
  readonly batchNormReestimated?: boolean;
}

/** The objective's score of a split, as the engine reports it. */
export type SplitScore = EngineScore;

export interface LearnOptions {
  readonly granularity?: Granularity;
  readonly parameterisation?: Parameterisation;
  /**
   * Default "adam". "lbfgs" (full-batch quasi-Newton, unconstrained parameterisations only) did not reach the
   * PyTorch reference's validation loss sooner in bench/learned-soup, so it is opt-in.
   */
  readonly optimizer?: OptimizerName;
  readonly learningRate?: number;
  readonly schedule?: Schedule;
  /** Adam steps, or L-BFGS iterations. */
  readonly maxSteps?: number;
  /** Adam mini-batch size, and chunk size of L-BFGS full-batch passes. */
  readonly batchSize?: number;
  /** Adam: steps between validation evaluations (at least; more when validation is large). */
  readonly evaluateEvery?: number;
  /** Adam: steps without a lower validation loss before stopping (L-BFGS: iterations). */
  readonly patience?: number;
  /** L-BFGS uses at most this many learning samples, a fixed seeded subset. */
  readonly fullBatchLimit?: number;
  /** Names of the ingredients, for the single-ingredient candidates (default "ingredient 1", ...). */
  readonly ingredientNames?: readonly string[];
  /** Where learning starts: the best candidate on validation (default), or the uniform soup (the model-soups recipe). */
  readonly startAt?: "best-candidate" | "uniform";
  /**
   * Default: true for the supervised objective, false for entropy. False: no candidate is scored, learning starts at the uniform soup and keeps the learned path's
   * best (the learner before candidate starts, kept for the experiments in bench/learn-defaults).
   */
  readonly compareCandidates?: boolean;
  /** Candidates besides the uniform soup and each single ingredient (e.g. the greedy soup). */
  readonly candidates?: readonly StartCandidate[];
  /** Small-data refit on learn + validation (default: when they hold at most LEARN_DEFAULTS.refitMaxRows rows). */
  readonly refit?: boolean;
  readonly seed?: number;
  /**
   * BatchNormalization statistics are part of each soup (a single ingredient is always itself): re-estimated on the
   * learning data when that lowers the validation loss (default, with validation data), always (true), or never
   * (false). Every candidate and every validation check is scored with the statistics it would be written with.
   */
  readonly reestimateBatchNorm?: boolean;
  readonly onProgress?: (progress: LearnProgress) => void;
  readonly cancel?: Cancellation;
}

export interface LearnBudget {
  readonly optimizer: OptimizerName;
  readonly maxSteps: number;
  readonly learningRate?: number;
  readonly schedule?: Schedule;
  readonly batchSize: number;
  readonly evaluateEvery: number;
  readonly patience: number;
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
  /** Step of the learned path with the lowest validation loss (0 = the start). */
  readonly bestStep: number;
  /** The candidate learning started from. */
  readonly start: string;
  /** What was kept: "learned" (the learned path) or the name of a candidate that was better on validation. */
  readonly kept: string;
  /** Every candidate's validation score (empty without validation data). */
  readonly candidates: readonly CandidateScore[];
  readonly budget: LearnBudget;
  /** Validation score of the kept soup (before a refit), as it is written (BatchNormalization statistics included). */
  readonly validation?: SplitScore;
  /** Layers whose statistics the kept soup has re-estimated (empty: the weight average of the statistics). */
  readonly batchNormReestimated: readonly string[];
  /** The kept soup's re-estimated statistics, as they are in the model and must be written. */
  readonly batchNormStatistics?: BatchNormState;
  readonly stoppedBy: "early-stopping" | "budget" | "converged" | "iterations";
  /** When the small-data policy learned the kept path again on learn + validation. */
  readonly refit?: { readonly rows: number; readonly steps: number };
}

export const LEARNED = "learned";

/**
 * Learns on `engine`'s learn split, chooses and stops on its validation split (none, or no rows: nothing to choose
 * or stop by), for `objective`; leaves the kept soup written in the engine. Yields to the event loop before every
 * step (the engine before every batch it runs), so a cancellation (or a progress notification) gets through within
 * one step; rejects with CancelledError when `cancel` asks to stop.
 */
export async function learnCoefficients(
  engine: SoupEngine,
  objective: Objective,
  options: LearnOptions = {},
): Promise<LearnResult> {
  const validationRows = engine.rows("validation");
  const hasValidation = validationRows > 0;
  const learnRows = engine.rows("learn");
  const granularity = options.granularity ?? LEARN_DEFAULTS.granularity;
  const parameterisation = options.parameterisation ?? LEARN_DEFAULTS.parameterisation;
  const optimizer = options.optimizer ?? LEARN_DEFAULTS.optimizer;
  if (optimizer === "lbfgs" && parameterisation === "nonneg") {
    throw new UsageError('L-BFGS is unconstrained: use the "adam" optimiser with the "nonneg" parameterisation.');
  }
  const objectiveName = objective.name;
  const n = engine.ingredients;
  const space = coefficientSpace(engine.layerOf, n, granularity, parameterisation);
  const layout: CoefficientLayout = { groupOf: space.groupOf, groups: space.groups.length };
  const gradient: ThetaGradient = async (theta, rows) => {
    await engine.write(coefficientsOf(space, theta), layout);
    const { loss, gradAlpha } = await engine.gradient(rows, objective);
    return { loss, grad: chainToTheta(space, theta, gradAlpha) };
  };
  const batchSize = options.batchSize ?? LEARN_DEFAULTS.batchSize;
  const budget = budgetOf(optimizer, options, validationRows, batchSize);
  const learnSplit: RowSelection = { split: "learn" };
  const validationSplit: RowSelection = { split: "validation" };
  const report = (step: number, trainLoss: number, theta: Float64Array, val?: SplitScore) =>
    options.onProgress?.({
      step,
      trainLoss,
      validationLoss: val?.loss,
      validationMetric: val?.metric,
      coefficients: coefficientsByIngredient(space, coefficientsOf(space, theta)),
    });
  // With validation data the statistics are chosen per soup by the validation loss; `true` re-estimates always.
  const batchNormPolicy: "choose" | "always" | "never" =
    options.reestimateBatchNorm === false || engine.batchNormLayers.length === 0
      ? "never"
      : options.reestimateBatchNorm === true
        ? "always"
        : !hasValidation
          ? "never"
          : "choose";
  /** Writes α with the statistics it would be written with; `single`: an ingredient as it is. */
  const writeSoup = async (alpha: Float64Array, single: boolean): Promise<BatchNormState | undefined> => {
    await engine.write(alpha, layout);
    if (single || batchNormPolicy !== "always") return undefined;
    await engine.reestimateBatchNorm(learnSplit);
    return engine.readBatchNorm();
  };
  const scoreAlpha = async (alpha: Float64Array, single = false): Promise<Scored> => {
    const statistics = await writeSoup(alpha, single);
    const score = () => engine.score(validationSplit, objective);
    if (single || batchNormPolicy !== "choose") return { ...(await score()), statistics };
    const choice = await chooseBatchNorm(engine, score, learnSplit);
    return { ...choice.score, statistics: choice.statistics };
  };
  const validate = async (theta: Float64Array): Promise<Scored | undefined> =>
    hasValidation ? scoreAlpha(coefficientsOf(space, theta)) : undefined;

  // 1. The candidates, scored on validation; the start is the best of them.
  const candidates = candidateList(n, options);
  const scores: CandidateScore[] = [];
  const candidateStatistics: Array<BatchNormState | undefined> = [];
  const candidateAlphas: Float64Array[] = [];
  // Label-free, the lowest entropy can belong to a confidently wrong model: the entropy objective starts at the
  // uniform soup and compares no candidate unless asked.
  if (hasValidation && (options.compareCandidates ?? objectiveName === "supervised")) {
    for (const c of candidates) {
      const alpha = broadcast(space, c.coefficients);
      const s = await scoreAlpha(alpha, isSingle(c.coefficients));
      candidateAlphas.push(alpha);
      candidateStatistics.push(s.statistics);
      scores.push({
        name: c.name,
        loss: s.loss,
        ...(s.metric !== undefined ? { metric: s.metric } : {}),
        ...(s.statistics !== undefined ? { batchNormReestimated: true } : {}),
      });
    }
  }
  const bestCandidate = scores.length === 0 ? 0 : scores.reduce((b, s, k) => (s.loss < scores[b]!.loss ? k : b), 0);
  const startIndex = options.startAt === "uniform" ? 0 : bestCandidate;
  const start = candidates[startIndex]!;
  const theta0 = startTheta(space, start.coefficients);
  // The start is a candidate already scored (the uniform soup, a soup with no zero): its score, not a second pass.
  const startScore =
    scores.length > 0 && sameSoup(coefficientsOf(space, theta0), candidateAlphas[startIndex]!)
      ? {
          loss: scores[startIndex]!.loss,
          metric: scores[startIndex]!.metric,
          statistics: candidateStatistics[startIndex],
        }
      : await validate(theta0);

  // 2. The learned path, early-stopped on validation.
  const best = { theta: Float64Array.from(theta0), score: startScore, step: 0 };
  let lastImprovement = 0;
  const consider = (theta: Float64Array, step: number, score: Scored | undefined): boolean => {
    if (score === undefined) {
      Object.assign(best, { theta: Float64Array.from(theta), step });
      return false;
    }
    if (score.loss < best.score!.loss) {
      Object.assign(best, { theta: Float64Array.from(theta), score, step });
      lastImprovement = step;
      return false;
    }
    return step - lastImprovement >= budget.patience;
  };
  const path: PathRun = {
    space,
    gradient,
    rows: { split: "learn", count: learnRows },
    budget,
    options,
    theta0,
    consider,
    validate,
    report,
  };
  const run = optimizer === "adam" ? await runAdamPath(path) : await runLbfgs(path);

  // 3. The kept soup: the learned path's best, unless a candidate is better on validation.
  const candidateWins = scores.length > 0 && best.score !== undefined && scores[bestCandidate]!.loss <= best.score.loss;
  let alpha = candidateWins
    ? broadcast(space, candidates[bestCandidate]!.coefficients)
    : coefficientsOf(space, best.theta);
  const kept = candidateWins ? candidates[bestCandidate]!.name : LEARNED;
  const keptScore: SplitScore | undefined = candidateWins ? scores[bestCandidate] : best.score;
  const keptSingle = candidateWins && isSingle(candidates[bestCandidate]!.coefficients);
  // Without validation (no choice made) the policy alone decides; else the kept soup's own choice.
  let reestimate =
    batchNormPolicy === "always"
      ? !keptSingle
      : candidateWins
        ? candidateStatistics[bestCandidate] !== undefined
        : best.score?.statistics !== undefined;

  // 4. Small data: learn the kept path again on learn + validation, as many steps as validation chose.
  let refit: LearnResult["refit"];
  const rows = learnRows + validationRows;
  const wantRefit = options.refit ?? rows <= LEARN_DEFAULTS.refitMaxRows;
  if (wantRefit && !candidateWins && hasValidation && optimizer === "adam" && best.step > 0) {
    const theta = Float64Array.from(theta0);
    await runAdam({
      space,
      gradient,
      rows: { split: "learn+validation", count: engine.rows("learn+validation") },
      budget,
      options,
      theta,
      steps: best.step,
      after: async () => false,
    });
    alpha = coefficientsOf(space, theta);
    refit = { rows, steps: best.step };
  }

  // The kept soup, left in the engine exactly as it was scored (a refit re-estimates its new statistics).
  await engine.write(alpha, layout);
  let statistics: BatchNormState | undefined;
  if (reestimate) {
    const chosen = candidateWins ? candidateStatistics[bestCandidate] : best.score?.statistics;
    if (chosen !== undefined && refit === undefined) await engine.writeBatchNorm(chosen);
    else await engine.reestimateBatchNorm(learnSplit);
    statistics = await engine.readBatchNorm();
  }
  reestimate = statistics !== undefined;
  return {
    coefficients: coefficientsByIngredient(space, alpha),
    groups: space.groups,
    granularity,
    parameterisation,
    optimizer,
    task: objective.task,
    objective: objectiveName,
    steps: run.steps,
    bestStep: best.step,
    start: start.name,
    kept,
    candidates: scores,
    budget,
    validation: keptScore === undefined ? undefined : { loss: keptScore.loss, metric: keptScore.metric },
    batchNormReestimated: reestimate ? statistics!.layers : [],
    ...(statistics !== undefined ? { batchNormStatistics: statistics } : {}),
    stoppedBy: run.stoppedBy,
    ...(refit !== undefined ? { refit } : {}),
  };
}

function checkPositive(value: number | undefined, what: string, integer: boolean): void {
  if (value === undefined) return;
  if (!(value > 0) || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new UsageError(
      `${what} must be a ${integer ? "whole number of at least 1" : "positive number"}, got ${value}`,
    );
  }
}

function budgetOf(
  optimizer: OptimizerName,
  options: LearnOptions,
  validationRows: number,
  batchSize: number,
): LearnBudget {
  const d = LEARN_DEFAULTS;
  checkPositive(options.maxSteps, "the step budget (--steps)", true);
  checkPositive(batchSize, "the batch size (--batch)", true);
  checkPositive(options.patience, "the patience (--patience)", true);
  checkPositive(options.learningRate, "the learning rate (--lr)", false);
  checkPositive(options.evaluateEvery, "the evaluation interval", true);
  if (optimizer === "lbfgs") {
    return {
      optimizer,
      maxSteps: options.maxSteps ?? d.lbfgsIterations,
      batchSize,
      evaluateEvery: 1,
      patience: options.patience ?? d.lbfgsPatience,
    };
  }
  const evaluateEvery = evaluationInterval(validationRows, batchSize, options.evaluateEvery ?? d.evaluateEvery);
  return {
    optimizer,
    maxSteps: options.maxSteps ?? d.maxSteps,
    learningRate: options.learningRate ?? d.learningRate,
    schedule: options.schedule ?? d.schedule,
    batchSize,
    evaluateEvery,
    patience: options.patience ?? patienceSteps(evaluateEvery),
  };
}

/** The uniform soup, each single ingredient, then the caller's candidates. */
function candidateList(n: number, options: LearnOptions): StartCandidate[] {
  const names = options.ingredientNames ?? Array.from({ length: n }, (_, i) => `ingredient ${i + 1}`);
  const list: StartCandidate[] = [{ name: "uniform soup", coefficients: new Array<number>(n).fill(1 / n) }];
  for (let i = 0; i < n; i++)
    list.push({ name: names[i]!, coefficients: Array.from({ length: n }, (_, k) => (k === i ? 1 : 0)) });
  for (const c of options.candidates ?? []) {
    if (c.coefficients.length !== n)
      throw new UsageError(`candidate "${c.name}" has ${c.coefficients.length} coefficients for ${n} ingredients.`);
    list.push(c);
  }
  return list;
}

/**
 * Both engines merge with float32 coefficients, so coefficients equal in float32 write the same soup, which scores
 * the same (the start's softmax of the uniform soup is 1/n within a float64 rounding).
 */
function sameSoup(a: Float64Array, b: Float64Array): boolean {
  return a.length === b.length && a.every((v, k) => Math.fround(v) === Math.fround(b[k]!));
}

/** One ingredient alone: it is itself, never re-estimated. */
function isSingle(coefficients: readonly number[]): boolean {
  return coefficients.filter((c) => c !== 0).length === 1 && coefficients.some((c) => c === 1);
}

/** α with the same coefficient per ingredient in every group. */
function broadcast(space: CoefficientSpace, perIngredient: readonly number[]): Float64Array {
  const G = space.groups.length;
  const alpha = new Float64Array(space.ingredients * G);
  perIngredient.forEach((a, i) => alpha.fill(a, i * G, (i + 1) * G));
  return alpha;
}

/**
 * θ of the start. On the simplex a candidate with zeros (a single ingredient, a subset) is blended with the
 * uniform soup: a softmax share near zero moves only after many Adam steps, a spread share can move at once.
 */
function startTheta(space: CoefficientSpace, coefficients: readonly number[]): Float64Array {
  if (space.parameterisation !== "simplex") return initialTheta(space, coefficients);
  const n = space.ingredients;
  const sum = coefficients.reduce((a, b) => a + b, 0);
  const spread = coefficients.some((c) => c === 0) ? LEARN_DEFAULTS.startSpread : 0;
  return initialTheta(
    space,
    coefficients.map((c) => (1 - spread) * (c / sum) + spread / n),
  );
}

/** A validation score and the re-estimated statistics it was scored with, if any. */
type Scored = SplitScore & { readonly statistics?: BatchNormState };
/** Loss and ∂/∂θ over the rows, at θ (written into the engine first). */
type ThetaGradient = (theta: Float64Array, rows: RowSelection) => Promise<{ loss: number; grad: Float64Array }>;
type Consider = (theta: Float64Array, step: number, score: Scored | undefined) => boolean;
type Validate = (theta: Float64Array) => Promise<Scored | undefined>;
type Report = (step: number, trainLoss: number, theta: Float64Array, val?: SplitScore) => void;
interface Run {
  steps: number;
  stoppedBy: LearnResult["stoppedBy"];
}

/** What an optimiser needs to learn one path of coefficients. */
interface Optimisation {
  readonly space: CoefficientSpace;
  readonly gradient: ThetaGradient;
  /** The split learned on, and its number of rows. */
  readonly rows: { readonly split: RowSelection["split"]; readonly count: number };
  readonly budget: LearnBudget;
  readonly options: LearnOptions;
}

/** A learned path: from `theta0`, early-stopped by `consider` on `validate`'s scores, each step told to `report`. */
interface PathRun extends Optimisation {
  readonly theta0: Float64Array;
  readonly consider: Consider;
  readonly validate: Validate;
  readonly report: Report;
}

/** Adam steps on `theta` (changed in place) and when to stop. */
interface AdamRun extends Optimisation {
  readonly theta: Float64Array;
  /** At most this many steps. */
  readonly steps: number;
  /** Called after each step; true stops. */
  readonly after: (step: number, loss: number) => Promise<boolean>;
}

/**
 * Adam over reshuffled passes of the rows: each epoch one seeded permutation of the split, cut into consecutive
 * mini-batches (the last one shorter) that the engine gathers. Returns the number of steps taken.
 */
async function runAdam({
  space,
  gradient,
  rows,
  budget,
  options,
  theta,
  steps,
  after,
}: AdamRun): Promise<{ steps: number; stopped: boolean }> {
  const adam = new Adam(theta.length, budget.learningRate!);
  const random = mulberry32(options.seed ?? 0);
  const n = rows.count;
  let step = 0;
  while (step < steps) {
    const order = shuffledIndices(n, random);
    for (let first = 0; first < n; first += budget.batchSize) {
      await nextStep(options.cancel);
      const batch = await gradient(theta, {
        split: rows.split,
        indices: order.subarray(first, Math.min(n, first + budget.batchSize)),
      });
      step++;
      adam.step(theta, batch.grad, learningRateAt(budget.learningRate!, budget.schedule!, step, budget.maxSteps));
      project(space, theta);
      if (await after(step, batch.loss)) return { steps: step, stopped: true };
      if (step >= steps) break;
    }
  }
  return { steps: step, stopped: false };
}

async function runAdamPath(path: PathRun): Promise<Run> {
  const { budget, consider, validate, report } = path;
  const theta = Float64Array.from(path.theta0);
  let lastScore: SplitScore | undefined;
  const run = await runAdam({
    ...path,
    theta,
    steps: budget.maxSteps,
    after: async (step, loss) => {
      let stop = false;
      if (step % budget.evaluateEvery === 0 || step === budget.maxSteps) {
        lastScore = await validate(theta);
        stop = consider(theta, step, lastScore);
      }
      report(step, loss, theta, lastScore);
      return stop;
    },
  });
  // Patience running out on the budget's last step is the budget ending, not an early stop.
  return { steps: run.steps, stoppedBy: run.stopped && run.steps < budget.maxSteps ? "early-stopping" : "budget" };
}

async function runLbfgs({
  gradient,
  rows,
  budget,
  options,
  theta0,
  consider,
  validate,
  report,
}: PathRun): Promise<Run> {
  const limit = options.fullBatchLimit ?? LEARN_DEFAULTS.fullBatchLimit;
  const n = rows.count;
  // More rows than the limit: a fixed seeded subset of them, in row order.
  const full: RowSelection =
    n <= limit
      ? { split: rows.split }
      : {
          split: rows.split,
          indices: Int32Array.from(shuffledIndices(n, mulberry32(options.seed ?? 0)).subarray(0, limit)).sort(),
        };
  let stoppedEarly = false;
  const result = await minimizeLbfgs(
    async (theta) => {
      // The learner checks the stop itself, whatever the engine does within a pass.
      await nextStep(options.cancel);
      const { loss, grad } = await gradient(theta, full);
      return { f: loss, g: grad };
    },
    Float64Array.from(theta0),
    {
      maxIterations: budget.maxSteps,
      onIteration: async (iteration, theta, f) => {
        const score = await validate(theta);
        stoppedEarly = consider(theta, iteration, score);
        report(iteration, f, theta, score);
        return stoppedEarly;
      },
    },
  );
  const stoppedBy = stoppedEarly ? "early-stopping" : result.reason === "iterations" ? "iterations" : "converged";
  return { steps: result.iterations, stoppedBy };
}
