/** The reports the soup jobs return: the held-out comparison, mergeability, the learning summary. */
import { basename } from "node:path";
import type {
  Coefficients,
  LearningSummary,
  LearnParams,
  MetricPair,
  PairMergeability,
  SoupReport,
} from "../../../protocol/worker.js";
import { taskFor, type SoupEvaluation } from "../../evaluate/evaluate.js";
import { mergeability } from "../../evaluate/mergeability.js";
import { metricPair, type Score } from "../../evaluate/score.js";
import type { SoupCandidate } from "../../evaluate/soup.js";
import { compareEntropy } from "../../evaluate/entropy.js";
import type { LearnResult } from "../../learn/learn.js";
import type { Task } from "../../learn/loss.js";
import { resolveObjective } from "../../learn/objective.js";
import type { JobContext } from "../../../core/job-context.js";
import type { JobData } from "./data.js";
import type { LoadedProblem } from "./problem.js";
import { type Session, splitSizes } from "./session.js";

/** The greedy soup's name in reports and among the learner's candidates. */
export const GREEDY_SOUP = "greedy soup";

export function pair(score: Score): MetricPair {
  return metricPair(score);
}

/** A model's name as reports show it: the file name, or folder/model.json for a TF.js model. */
export function modelLabel(m: string): string {
  return basename(m) === "model.json" ? `${basename(m.slice(0, -"/model.json".length))}/model.json` : basename(m);
}

export function learningSummary(result: LearnResult): LearningSummary {
  return {
    optimizer: result.optimizer,
    budget: { ...result.budget },
    candidates: result.candidates.map((c) => ({ ...c })),
    start: result.start,
    kept: result.kept,
    ...(result.validation !== undefined
      ? {
          validation: {
            loss: result.validation.loss,
            ...(result.validation.metric !== undefined ? { metric: result.validation.metric } : {}),
          },
        }
      : {}),
    ...(result.batchNormReestimated.length > 0 ? { batchNorm: "re-estimated" as const } : {}),
    steps: result.steps,
    bestStep: result.bestStep,
    stoppedBy: result.stoppedBy,
    ...(result.refit !== undefined ? { refit: { ...result.refit } } : {}),
  };
}

export async function mergeabilityReport(
  loaded: LoadedProblem,
  data: JobData,
  models: readonly string[],
  context: JobContext,
) {
  const task = taskFor(loaded.problem, data.validation, { trainingConfig: loaded.trainingConfig });
  const names = models.map(modelLabel);
  const result = await mergeability(loaded.problem, data.validation, task, { names, cancel: context.token });
  const pairs: PairMergeability[] = result.pairs.map((p) => ({
    a: models[p.a]!,
    b: models[p.b]!,
    cosine: p.cosine,
    midpointLoss: p.lossMidpoint,
    endpointLoss: [p.lossA, p.lossB],
    barrier: p.barrier,
  }));
  return { pairs, warnings: result.warnings };
}
/** The comparison every soup job reports: each ingredient, the uniform soup, the soup made, the ensemble. */
export async function soupReport(
  session: Session,
  params: { models: string[] },
  evaluation: SoupEvaluation,
  method: string,
  coefficients: Coefficients,
  context: JobContext,
): Promise<SoupReport> {
  const { pairs, warnings } = await mergeabilityReport(session.loaded, session.data, params.models, context);
  return {
    backend: session.backend,
    method,
    coefficients,
    metricName: evaluation.metricName,
    metrics: {
      ingredients: params.models.map((model, i) => ({ model, ...pair(evaluation.ingredients[i]!) })),
      uniform: pair(evaluation.uniform),
      merged: pair(evaluation.merged!),
      ensemble: pair(evaluation.ensemble),
    },
    mergeability: pairs,
    split: splitSizes(session.data),
    ...(evaluation.classCounts !== undefined ? { testClassCounts: evaluation.classCounts } : {}),
    warnings: [...session.loaded.warnings, ...warnings],
    seconds: 0,
  };
}

/**
 * Without labels the comparison is the label-free objective itself: each model's mean prediction entropy on the
 * held-out inputs (loss and metric alike). Mergeability needs labelled losses and is left out.
 */
/** The task a label-free comparison scores with: the entropy objective's (mean prediction entropy). */
export function entropyTask(loaded: LoadedProblem, data: Pick<JobData, "learn">): Task {
  return resolveObjective(loaded.problem.model, "entropy", data.learn, { trainingConfig: loaded.trainingConfig }).task;
}

export async function unlabeledReport(
  session: Session,
  params: LearnParams,
  merged: SoupCandidate,
  method: string,
  coefficients: Coefficients,
  context: JobContext,
): Promise<SoupReport> {
  const { loaded, data } = session;
  const task = entropyTask(loaded, data);
  const c = await compareEntropy(loaded.problem, data.test.x, task, { merged, cancel: context.token });
  const entropy = (value: number): MetricPair => ({ loss: value, metric: value });
  return {
    backend: session.backend,
    method,
    coefficients,
    metricName: "entropy",
    metrics: {
      ingredients: params.models.map((model, i) => ({ model, ...entropy(c.ingredients[i]!) })),
      uniform: entropy(c.uniform),
      merged: entropy(c.merged!),
      ensemble: entropy(c.ensemble),
    },
    mergeability: [],
    split: splitSizes(data),
    warnings: [
      ...loaded.warnings,
      `${params.data.path} has no labels: models are compared by mean prediction entropy on the test split (lower is more confident, not more accurate), and mergeability is not checked`,
    ],
    seconds: 0,
  };
}
