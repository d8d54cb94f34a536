/**
 * Data-aware merges (RegMean, Fisher) and the held-out comparison of every method side by side: statistics on the
 * learn split, each merge judged on the test split with the ingredients, the uniform soup and the output ensemble;
 * and the re-computation of the statistics when a RegMean or Fisher recipe is applied.
 */
import { basename, dirname, isAbsolute, resolve } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { ModelFileError, UsageError } from "../../core/errors.js";
import { prepareMerge, type MergeStatistics } from "../../core/merge/plan.js";
import type { MergeSpec } from "../../core/merge/spec.js";
import { sha256File } from "../../core/recipe/hash.js";
import type { Recipe } from "../../core/recipe/recipe.js";
import { checkArchitecture } from "../../core/soup/save.js";
import type {
  BackendName,
  CompareParams,
  DataAwareMethod,
  DataAwareOptions,
  DataMergeParams,
  DataSpec,
  EvaluateReport,
  FisherTarget,
  LossChoice,
  MethodMetric,
  MetricPair,
  PairMergeability,
  SoupReport,
} from "../../protocol/worker.js";
import { DATA_AWARE_METHODS, isDataAwareMethod } from "../../protocol/worker.js";
import { BASE_METHOD_CHOICES, choiceValues, type BaseMethod, type ComparedMethod } from "../../protocol/choices.js";
import { selectBackend } from "../backend.js";
import { compareEntropy } from "../evaluate/entropy.js";
import { evaluateSoups, taskFor } from "../evaluate/evaluate.js";
import { greedySoupRow, uniformSoupRow } from "../evaluate/rows.js";
import { mergeability } from "../evaluate/mergeability.js";
import { metricPair, predictAll, scorePredictions } from "../evaluate/score.js";
import { MixWriter, type SoupCandidate } from "../evaluate/soup.js";
import { learnCoefficients } from "../learn/learn.js";
import { sampleEntropy, type Task } from "../learn/loss.js";
import { recordedLossChoice } from "../learn/loss-choice.js";
import { resolveObjective } from "../learn/objective.js";
import type { SoupData } from "../learn/problem.js";
import { computeStatistics, DEFAULT_FISHER_EXAMPLES, writeIngredient } from "../stats/index.js";
import type { JobContext } from "../../core/job-context.js";
import { disposeJobData, loadJobData, splitReport as splitSizes, type JobData } from "./data.js";
import { writeSoup } from "./learn/write.js";
import { resolveJobModels, resolveSoupJob } from "../../core/soup/job-inputs.js";
import { disposeProblem, loadProblem, type LoadedProblem } from "./problem.js";

/** How each method is named in reports. */
const METHOD_NAMES: Record<ComparedMethod, string> = {
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
/** The order of the comparison's rows. */
const COMPARE_ORDER = [
  "greedy",
  "learned",
  "regmean",
  "fisher",
  "regmean_plusplus",
  "tsv_m",
  "iso_c",
  "iso_cts",
  "wudi",
] as const satisfies readonly ComparedMethod[];

interface Session {
  backend: BackendName;
  loaded: LoadedProblem;
  data: JobData;
  started: number;
}

async function open(
  models: readonly string[],
  dataSpec: DataSpec,
  preference: BackendName | undefined,
  context: JobContext,
  jobId?: string,
  loss?: LossChoice,
  architecture?: string,
): Promise<Session> {
  const started = performance.now();
  const choice = await selectBackend(preference);
  for (const s of choice.skipped) context.log("info", `TensorFlow.js backend ${s.backend} not used: ${s.reason}`);
  context.log("info", `TensorFlow.js backend: ${choice.backend}`);
  context.progress({ jobId, phase: "loading", step: 0, totalSteps: 0, message: "Reading the models" });
  const loaded = await loadProblem(models, undefined, architecture);
  try {
    context.progress({ jobId, phase: "loading", step: 0, totalSteps: 0, message: "Reading the data" });
    const data = await loadJobData(dataSpec, loaded, loss);
    for (const note of data.notes) context.log("info", note);
    return { backend: choice.backend, loaded, data, started };
  } catch (error) {
    disposeProblem(loaded);
    throw error;
  }
}

function close(session: Session): void {
  disposeJobData(session.data);
  disposeProblem(session.loaded);
}

/** The task whose log-likelihood Fisher differentiates: the supervised one, or with no labels the entropy objective's. */
function statisticsTask(session: Session): Task {
  const { loaded, data } = session;
  const name = data.learn.y === undefined ? "entropy" : "supervised";
  return resolveObjective(loaded.problem.model, name, data.learn, {
    loss: loaded.problem.loss,
    trainingConfig: loaded.trainingConfig,
  }).task;
}

/** The merge description of a data-aware method with its parameters. */
function dataAwareSpec(method: DataAwareMethod, models: readonly string[], options: DataAwareOptions): MergeSpec {
  const params: Record<string, number> = {};
  if ((method === "regmean" || method === "regmean_plusplus") && options.alpha !== undefined)
    params.alpha = options.alpha;
  if (method === "fisher" && options.epsilon !== undefined) params.epsilon = options.epsilon;
  return { method, params, ingredients: models.map((path) => ({ path })) };
}

interface DataAwareMerge {
  spec: MergeSpec;
  statistics: MergeStatistics;
  /** Merged values of every variable of the problem (same order). */
  values: Float32Array[];
  warnings: string[];
  examples?: number;
  fisherTarget?: FisherTarget;
}

/** Statistics on the learn split, one ingredient at a time, then the merged values of every variable. */
async function dataAwareMerge(
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
  const examples = method === "fisher" ? (options.examples ?? DEFAULT_FISHER_EXAMPLES) : undefined;
  if (examples !== undefined && (!Number.isInteger(examples) || examples < 1))
    throw new UsageError(`examples must be a positive integer, got ${examples}`);
  const fisherTarget: FisherTarget | undefined =
    method === "fisher" ? (data.learn.y === undefined ? "prediction" : (options.fisherTarget ?? "labels")) : undefined;
  if (fisherTarget !== undefined && fisherTarget !== "labels" && fisherTarget !== "prediction")
    throw new UsageError(`the Fisher target must be labels or prediction, got ${String(fisherTarget)}`);
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
  const warnings = [...notes];
  const values = loaded.bindings.map(
    (b, k) =>
      prepared.mergeTensor({
        info: { name: b.tensor, layer: b.layer, shape: b.variable.shape as number[], dtype: "float32" },
        ingredients: loaded.problem.ingredients.map((ingredient) => ingredient[k]!),
        statistics: statistics.get(b.tensor) ?? {},
        warn: (w) => warnings.push(w),
      }) as Float32Array,
  );
  return {
    spec,
    statistics,
    values,
    warnings,
    ...(examples !== undefined ? { examples } : {}),
    ...(fisherTarget !== undefined ? { fisherTarget } : {}),
  };
}

/**
 * The base model's values of every variable, in the session's order. Read apart from the session, whose learned and
 * greedy soups stay the plain weighted averages they are without a base.
 */
async function readBaseValues(models: readonly string[], base: string): Promise<Float32Array[]> {
  const loaded = await loadProblem(models, base);
  try {
    return [...loaded.problem.base!];
  } finally {
    disposeProblem(loaded);
  }
}

function isBaseMethod(method: string): method is BaseMethod {
  return (choiceValues(BASE_METHOD_CHOICES) as readonly string[]).includes(method);
}

/** A data-free merge of fine-tunes (TSV-M, Iso-C, ...) with its defaults, in memory: every variable's merged values. */
function baseMethodValues(
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
async function scoreCurrent(session: Session, task: Task, context: JobContext): Promise<MetricPair> {
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
async function scoreCandidate(
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
async function references(session: Session, task: Task, context: JobContext) {
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

async function mergeabilityPairs(
  session: Session,
  models: readonly string[],
  task: Task,
  context: JobContext,
): Promise<{ pairs: PairMergeability[]; warnings: string[] }> {
  const names = models.map((m) => (basename(m) === "model.json" ? `${basename(dirname(m))}/model.json` : basename(m)));
  const result = await mergeability(session.loaded.problem, session.data.validation, task, {
    names,
    cancel: context.token,
  });
  return {
    pairs: result.pairs.map((p) => ({
      a: models[p.a]!,
      b: models[p.b]!,
      cosine: p.cosine,
      midpointLoss: p.lossMidpoint,
      endpointLoss: [p.lossA, p.lossB],
      barrier: p.barrier,
    })),
    warnings: result.warnings,
  };
}

/** `merge --method regmean|fisher --data`: the merge, its held-out comparison, and (with `out`) the model and recipe. */
export async function runDataMerge(given: DataMergeParams, context: JobContext): Promise<SoupReport> {
  const params = await resolveSoupJob(given);
  if (!isDataAwareMethod(params.method))
    throw new UsageError(
      `"${String(params.method)}" is not a data-aware method; expected ${DATA_AWARE_METHODS.join(", ")}`,
    );
  const session = await open(
    params.models,
    params.data,
    params.backend,
    context,
    params.jobId,
    params.loss,
    params.architecture,
  );
  try {
    const task = statisticsTask(session);
    const merge = await dataAwareMerge(session, params.method, params.models, params, context, params.jobId);
    context.progress({
      jobId: params.jobId,
      phase: "evaluating",
      step: 0,
      totalSteps: 0,
      message: "Evaluating on the test split",
    });
    writeIngredient(session.loaded.problem, merge.values);
    const merged = await scoreCurrent(session, task, context);
    const refs = await references(session, task, context);
    const report: SoupReport = {
      backend: session.backend,
      method: METHOD_NAMES[params.method],
      coefficients: [],
      metricName: refs.metricName,
      metrics: {
        ingredients: params.models.map((model, i) => ({ model, ...refs.ingredients[i]! })),
        uniform: refs.uniform,
        merged,
        ensemble: refs.ensemble,
      },
      mergeability: [],
      split: splitSizes(session.data),
      ...("classCounts" in refs ? { testClassCounts: refs.classCounts } : {}),
      warnings: [...session.loaded.warnings, ...merge.warnings],
      seconds: 0,
    };
    await writeSoup(
      report,
      session,
      params,
      context,
      {
        spec: merge.spec,
        origin: params.method,
        statistics: merge.statistics,
        learning: {
          statistics: {
            split: "learn",
            rows: session.data.split.sizes.learn,
            ...(merge.examples !== undefined ? { examples: merge.examples } : {}),
            ...(merge.fisherTarget !== undefined ? { target: merge.fisherTarget } : {}),
          },
        },
      },
      task,
    );
    report.seconds = (performance.now() - session.started) / 1000;
    return report;
  } finally {
    close(session);
  }
}

/**
 * `evaluate --methods`: each ingredient, the uniform soup and the ensemble, and every requested method (greedy
 * soup chosen on validation, learned soup with the learner's defaults, RegMean, Fisher) on the same test split.
 */
export async function runCompare(given: CompareParams, context: JobContext): Promise<EvaluateReport> {
  const params = await resolveJobModels(given);
  const unknown = params.methods.filter((m) => !(COMPARE_ORDER as readonly string[]).includes(m));
  if (unknown.length > 0)
    throw new UsageError(`unknown method(s) to compare: ${unknown.join(", ")}; expected ${COMPARE_ORDER.join(", ")}`);
  const needsBase = params.methods.filter((m) => isBaseMethod(m));
  if (needsBase.length > 0 && params.base === undefined)
    throw new UsageError(`${needsBase.join(", ")} merge fine-tunes of one base model: give it (--base)`);
  const session = await open(
    params.models,
    params.data,
    params.backend,
    context,
    params.jobId,
    params.loss,
    params.architecture,
  );
  try {
    const { loaded, data } = session;
    const task = taskFor(loaded.problem, data.test, { trainingConfig: loaded.trainingConfig });
    const warnings = [...loaded.warnings];
    const methods: MethodMetric[] = [];
    let baseValues: Float32Array[] | undefined;
    for (const method of COMPARE_ORDER.filter((m) => params.methods.includes(m))) {
      context.progress({
        jobId: params.jobId,
        phase: "evaluating",
        step: methods.length,
        totalSteps: params.methods.length,
        message: METHOD_NAMES[method],
      });
      let score: MetricPair;
      if (method === "greedy") {
        const greedy = await greedySoupRow(loaded.problem, task, data, { cancel: context.token });
        score = await scoreCandidate(session, greedy.candidate, task, context);
      } else if (method === "learned") {
        const learned = await learnCoefficients(loaded.problem, data.learn, data.validation, {
          seed: params.data.seed ?? 0,
          trainingConfig: loaded.trainingConfig,
          cancel: context.token,
        });
        const mix = { coefficients: learned.coefficients, groups: learned.groups };
        const candidate = { mix, ...(learned.batchNormStatistics ? { statistics: learned.batchNormStatistics } : {}) };
        score = await scoreCandidate(session, candidate, task, context);
      } else if (isBaseMethod(method)) {
        baseValues ??= await readBaseValues(params.models, params.base!);
        writeIngredient(
          loaded.problem,
          baseMethodValues(session, method, params.models, params.base!, baseValues, warnings),
        );
        score = await scoreCurrent(session, task, context);
      } else {
        const merge = await dataAwareMerge(session, method, params.models, params, context, params.jobId);
        warnings.push(...merge.warnings.map((w) => `${METHOD_NAMES[method]}: ${w}`));
        writeIngredient(loaded.problem, merge.values);
        score = await scoreCurrent(session, task, context);
      }
      methods.push({ method: METHOD_NAMES[method], ...score });
    }
    const refs = await references(session, task, context);
    const { pairs, warnings: mergeWarnings } = await mergeabilityPairs(session, params.models, task, context);
    return {
      backend: session.backend,
      metricName: task.metric,
      metrics: {
        ingredients: params.models.map((model, i) => ({ model, ...refs.ingredients[i]! })),
        uniform: refs.uniform,
        ensemble: refs.ensemble,
        methods,
      },
      mergeability: pairs,
      split: splitSizes(data),
      ...("classCounts" in refs ? { testClassCounts: refs.classCounts } : {}),
      warnings: [...warnings, ...mergeWarnings],
      seconds: (performance.now() - session.started) / 1000,
    };
  } finally {
    close(session);
  }
}

/**
 * `apply` of a RegMean or Fisher recipe: the statistics again, from the recipe's models and its recorded data (whose
 * SHA-256 must match), with the recorded split and backend.
 */
export async function recipeStatistics(
  recipe: Recipe,
  spec: MergeSpec,
  recipePath: string,
  context: JobContext,
): Promise<MergeStatistics> {
  const record = recipe.data;
  if (record === undefined)
    throw new ModelFileError(
      recipePath,
      `a ${spec.method} recipe records the data its statistics came from; this one has none`,
    );
  const path = isAbsolute(record.path) ? record.path : resolve(dirname(recipePath), record.path);
  const actual = await sha256File(path).catch((error: Error) => {
    throw new ModelFileError(
      path,
      `is the data the recipe ${recipePath} was made with and cannot be read (${error.message})`,
    );
  });
  if (actual !== record.sha256) {
    throw new ModelFileError(
      path,
      `has changed since the recipe ${recipePath} was written (SHA-256 ${actual}, the recipe expects ${record.sha256}); ${spec.method} needs the same data`,
    );
  }
  // The recorded fractions are those of the split made (no test part when the user gave their own test rows).
  const dataSpec: DataSpec = {
    path,
    ...(record.label !== undefined ? { label: record.label } : {}),
    ...(record.scale !== undefined ? { scale: record.scale } : {}),
    ...(record.inputKey !== undefined ? { inputKey: record.inputKey } : {}),
    ...(record.seed !== undefined ? { seed: record.seed } : {}),
    ...(record.fractions !== undefined ? { fractions: record.fractions as DataSpec["fractions"] } : {}),
  };
  const backend = (["tfjs-node", "wasm", "cpu"] as const).find((b) => b === recipe.backend);
  const architecture = recipe.architecture ? await checkArchitecture(recipePath, recipe.architecture) : undefined;
  const session = await open(
    spec.ingredients.map((g) => g.path),
    dataSpec,
    backend,
    context,
    undefined,
    recordedLossChoice(record.loss),
    architecture,
  );
  try {
    const method = spec.method as DataAwareMethod;
    const recorded = recipe.learning?.statistics as { examples?: number; target?: FisherTarget } | undefined;
    const examples = recorded?.examples;
    const { statistics } = await computeStatistics(session.loaded.problem, session.data.learn, method, {
      tensorNames: session.loaded.bindings.map((b) => b.tensor),
      task: statisticsTask(session),
      ...(examples !== undefined ? { examples } : {}),
      ...(recorded?.target !== undefined ? { fisherTarget: recorded.target } : {}),
      ...(spec.params.alpha !== undefined ? { alpha: spec.params.alpha as number } : {}),
      cancel: context.token,
    });
    return statistics;
  } finally {
    close(session);
  }
}
