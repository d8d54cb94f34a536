/** What the data-aware merges and the comparison share: the statistics, the merges made in memory, their scores. */
import * as tf from "@tensorflow/tfjs";
import { UsageError } from "../../../core/errors.js";
import { prepareMerge, type MergeStatistics, type PreparedMerge, type TensorInputs } from "../../../core/merge/plan.js";
import type { MergeSpec } from "../../../core/merge/spec.js";
import type { DataAwareMethod, DataAwareOptions, FisherTarget, MetricPair } from "../../../protocol/worker.js";
import { BASE_METHOD_CHOICES, choiceValues, type BaseMethod, type ComparedMethod } from "../../../protocol/choices.js";
import { compareEntropy } from "../../evaluate/entropy.js";
import { evaluateSoups } from "../../evaluate/evaluate.js";
import { uniformSoupRow } from "../../evaluate/rows.js";
import { metricPair, predictAll, scorePredictions } from "../../evaluate/score.js";
import { MixWriter, type SoupCandidate } from "../../evaluate/soup.js";
import { sampleEntropy, type Task } from "../../learn/loss.js";
import { resolveObjective } from "../../learn/objective.js";
import type { SoupData } from "../../learn/problem.js";
import { computeStatistics, DEFAULT_FISHER_EXAMPLES } from "../../stats/index.js";
import type { JobContext } from "../../../core/job-context.js";
import { disposeProblem, loadProblem } from "./problem.js";

import type { Session } from "./session.js";

/** How each method is named in reports. */
export const METHOD_NAMES: Record<ComparedMethod, string> = {
  greedy: "greedy soup",
  learned: "learned soup",
  regmean: "RegMean",
  fisher: "Fisher merging",
  regmean_plusplus: "RegMean++",
  tsv_m: "TSV-M",
  iso_c: "Iso-C",
  iso_cts: "Iso-CTS",
  wudi: "WUDI merging",
};
/** The task whose log-likelihood Fisher differentiates: the supervised one, or with no labels the entropy objective's. */
export function statisticsTask(session: Session): Task {
  const { loaded, data } = session;
  const name = data.learn.y === undefined ? "entropy" : "supervised";
  return resolveObjective(loaded.problem.model, name, data.learn, {
    loss: loaded.problem.loss,
    trainingConfig: loaded.trainingConfig,
  }).task;
}

/** The merge description of a data-aware method with its parameters. */
export function dataAwareSpec(
  method: DataAwareMethod,
  models: readonly string[],
  options: DataAwareOptions,
): MergeSpec {
  const params: Record<string, number> = {};
  if ((method === "regmean" || method === "regmean_plusplus") && options.alpha !== undefined)
    params.alpha = options.alpha;
  if (method === "fisher" && options.epsilon !== undefined) params.epsilon = options.epsilon;
  return { method, params, ingredients: models.map((path) => ({ path })) };
}

export interface DataAwareMerge {
  spec: MergeSpec;
  statistics: MergeStatistics;
  /** Merged values of every variable of the problem (same order). */
  values: Float32Array[];
  warnings: string[];
  examples?: number;
  fisherTarget?: FisherTarget;
}

/** What a data-aware merge's soup is written with, for either engine: its spec, statistics and learning record. */
export function dataAwareWrite(merge: DataAwareMerge, origin: string, learnRows: number) {
  return {
    spec: merge.spec,
    origin,
    statistics: merge.statistics,
    learning: {
      statistics: {
        split: "learn",
        rows: learnRows,
        ...(merge.examples !== undefined ? { examples: merge.examples } : {}),
        ...(merge.fisherTarget !== undefined ? { target: merge.fisherTarget } : {}),
      },
    },
  };
}

/**
 * Fisher's examples and target (labels, or the model's own prediction: always without labels), checked; undefined
 * for RegMean. One rule for both engines.
 */
export function statisticsChoices(
  method: DataAwareMethod,
  options: DataAwareOptions,
  labelled: boolean,
): { examples?: number; fisherTarget?: FisherTarget } {
  if (method !== "fisher") return {};
  const examples = options.examples ?? DEFAULT_FISHER_EXAMPLES;
  if (!Number.isInteger(examples) || examples < 1)
    throw new UsageError(`examples must be a positive integer, got ${examples}`);
  const fisherTarget: FisherTarget = labelled ? (options.fisherTarget ?? "labels") : "prediction";
  if (fisherTarget !== "labels" && fisherTarget !== "prediction")
    throw new UsageError(`the Fisher target must be labels or prediction, got ${String(fisherTarget)}`);
  return { examples, fisherTarget };
}

/** Statistics on the learn split, one ingredient at a time, then the merged values of every variable. */
export async function dataAwareMerge(
  session: Session,
  method: DataAwareMethod,
  models: readonly string[],
  options: DataAwareOptions,
  context: JobContext,
  jobId?: string,
): Promise<DataAwareMerge> {
  const { loaded, data } = session;
  const spec = dataAwareSpec(method, models, options);
  const prepared = prepareMerge(spec);
  const { examples, fisherTarget } = statisticsChoices(method, options, data.learn.y !== undefined);
  const n = models.length;
  const { statistics, notes } = await computeStatistics(loaded.problem, data.learn, method, {
    ...(fisherTarget !== undefined ? { fisherTarget } : {}),
    tensorNames: loaded.bindings.map((b) => b.tensor),
    task: statisticsTask(session),
    examples,
    ...(spec.params.alpha !== undefined ? { alpha: spec.params.alpha as number } : {}),
    cancel: context.token,
    onIngredient: (i) =>
      context.progress({
        jobId,
        phase: "learning",
        step: i,
        totalSteps: n,
        message: `${METHOD_NAMES[method]}: statistics of ingredient ${i + 1} of ${n}`,
      }),
  });
  const tensors = loaded.bindings.map((b, k) => ({
    info: { name: b.tensor, layer: b.layer, shape: b.variable.shape as number[], dtype: "float32" as const },
    ingredients: loaded.problem.ingredients.map((ingredient) => ingredient[k]!),
  }));
  return mergeWithStatistics(spec, prepared, { statistics, notes }, tensors, { examples, fisherTarget });
}

/**
 * Every tensor merged by core's method from the statistics either engine gathered (`{}` for a tensor without,
 * plainly averaged), and the record both jobs keep: the method's warnings after the statistics' notes.
 */
export function mergeWithStatistics(
  spec: MergeSpec,
  prepared: PreparedMerge,
  gathered: { statistics: MergeStatistics; notes: readonly string[] },
  tensors: ReadonlyArray<Pick<TensorInputs, "info" | "ingredients">>,
  choices: { examples?: number; fisherTarget?: FisherTarget },
): DataAwareMerge {
  const { statistics } = gathered;
  const warnings = [...gathered.notes];
  const values = tensors.map(
    (t) =>
      prepared.mergeTensor({
        ...t,
        statistics: statistics.get(t.info.name) ?? {},
        warn: (w) => warnings.push(w),
      }) as Float32Array,
  );
  return {
    spec,
    statistics,
    values,
    warnings,
    ...(choices.examples !== undefined ? { examples: choices.examples } : {}),
    ...(choices.fisherTarget !== undefined ? { fisherTarget: choices.fisherTarget } : {}),
  };
}

/**
 * The base model's values of every variable, in the session's order. Read apart from the session, whose learned and
 * greedy soups stay the plain weighted averages they are without a base.
 */
export async function readBaseValues(models: readonly string[], base: string): Promise<Float32Array[]> {
  const loaded = await loadProblem(models, base);
  try {
    return [...loaded.problem.base!];
  } finally {
    disposeProblem(loaded);
  }
}

export function isBaseMethod(method: string): method is BaseMethod {
  return (choiceValues(BASE_METHOD_CHOICES) as readonly string[]).includes(method);
}

/** A data-free merge of fine-tunes (TSV-M, Iso-C, ...) with its defaults, in memory: every variable's merged values. */
export function baseMethodValues(
  session: Session,
  method: BaseMethod,
  models: readonly string[],
  base: string,
  baseValues: readonly Float32Array[],
  warnings: string[],
): Float32Array[] {
  const { problem, bindings } = session.loaded;
  const prepared = prepareMerge({ method, params: {}, base, ingredients: models.map((path) => ({ path })) });
  return bindings.map(
    (b, k) =>
      prepared.mergeTensor({
        info: { name: b.tensor, layer: b.layer, shape: b.variable.shape as number[], dtype: "float32" },
        ingredients: problem.ingredients.map((ingredient) => ingredient[k]!),
        base: baseValues[k]!,
        warn: (w) => warnings.push(`${METHOD_NAMES[method]}: ${w}`),
      }) as Float32Array,
  );
}

/** The test score of the model's current weights: loss and metric, or without labels the mean prediction entropy. */
export async function scoreCurrent(session: Session, task: Task, context: JobContext): Promise<MetricPair> {
  const test: SoupData = session.data.test;
  const pred = await predictAll(session.loaded.problem.model, test.x, 1024, context.token);
  try {
    if (test.y === undefined) {
      const entropy = tf.tidy(() => sampleEntropy(task, pred).mean().dataSync()[0]!);
      return { loss: entropy, metric: entropy };
    }
    return metricPair(scorePredictions(task, pred, test.y));
  } finally {
    pred.dispose();
  }
}

/** The test score of a soup as it is written (its BatchNormalization statistics included). */
export async function scoreCandidate(
  session: Session,
  candidate: SoupCandidate,
  task: Task,
  context: JobContext,
): Promise<MetricPair> {
  const writer = new MixWriter(session.loaded.problem);
  try {
    await writer.writeCandidate(candidate);
  } finally {
    writer.dispose();
  }
  return scoreCurrent(session, task, context);
}

/** The references: each ingredient, the uniform soup, the output ensemble (labelled: loss and metric; else entropy). */
export async function references(session: Session, task: Task, context: JobContext) {
  const { loaded, data } = session;
  if (data.test.y === undefined) {
    const c = await compareEntropy(loaded.problem, data.test.x, task, { cancel: context.token });
    const entropy = (v: number): MetricPair => ({ loss: v, metric: v });
    return {
      metricName: "entropy" as const,
      ingredients: c.ingredients.map(entropy),
      uniform: entropy(c.uniform),
      ensemble: entropy(c.ensemble),
    };
  }
  const uniform = await uniformSoupRow(loaded.problem, task, data, { cancel: context.token });
  const e = await evaluateSoups(loaded.problem, data.test, { task, uniform: uniform.candidate, cancel: context.token });
  return {
    metricName: e.metricName,
    ingredients: e.ingredients.map(metricPair),
    uniform: metricPair(e.uniform),
    ensemble: metricPair(e.ensemble),
    ...(e.classCounts !== undefined ? { classCounts: e.classCounts } : {}),
  };
}
