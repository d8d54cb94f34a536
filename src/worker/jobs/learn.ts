/** The jobs that run models: learn a soup, evaluate ingredients, greedy soup; and the backend query. */
import { basename } from "node:path";
import { UsageError } from "../../core/errors.js";
import { sha256File } from "../../core/recipe/hash.js";
import { specFromCoefficients } from "../../core/merge/coefficients.js";
import { dataProtection } from "../../core/soup/output.js";
import { saveSoup, type SaveSoupOptions } from "../../core/soup/save.js";
import type {
  BackendName,
  Coefficients,
  EvaluateParams,
  EvaluateReport,
  GreedyParams,
  LearningSummary,
  LearnParams,
  MetricPair,
  PairMergeability,
  ProgressParams,
  SoupReport,
} from "../../protocol/worker.js";
import { selectBackend } from "../backend.js";
import { ensureLearnableBackend } from "../kernels/gradient-probe.js";
import { evaluateSoups, taskFor, type SoupEvaluation } from "../evaluate/evaluate.js";
import { greedySoup } from "../evaluate/greedy.js";
import { mergeability } from "../evaluate/mergeability.js";
import type { Mix } from "../evaluate/soup.js";
import type * as tf from "@tensorflow/tfjs";
import { compareEntropy } from "../evaluate/entropy.js";
import { LEARN_DEFAULTS } from "../learn/defaults.js";
import { learnCoefficients, type LearnResult, type StartCandidate } from "../learn/learn.js";
import { resolveObjective } from "../learn/objective.js";
import { isCancelled, type JobContext } from "./context.js";
import { disposeJobData, loadJobData, type JobData } from "./data.js";
import { resolveJobModels, resolveSoupJob } from "./paths.js";
import { disposeProblem, loadProblem, type LoadedProblem } from "./problem.js";
import { alignLoaded } from "./align.js";
import { addAlignment, addRepair } from "../align/report.js";
import { repairAndScore } from "../align/repair.js";
import { addAlignedSoups } from "../align/evaluate-aligned.js";
import type { AlignmentOutcome } from "../align/align-problem.js";

async function useBackend(preference: BackendName | undefined, context: JobContext): Promise<BackendName> {
  const choice = await selectBackend(preference);
  for (const s of choice.skipped) context.log("info", `TensorFlow.js backend ${s.backend} not used: ${s.reason}`);
  context.log("info", `TensorFlow.js backend: ${choice.backend}`);
  return choice.backend;
}

/** The protocol's coefficient form: one number per ingredient, or per layer name one number per ingredient. */
function toCoefficients(coefficients: readonly (readonly number[])[], groups: readonly string[]): Coefficients {
  if (groups.length === 1 && groups[0] === "*") return coefficients.map((c) => c[0]!);
  return Object.fromEntries(groups.map((g, k) => [g, coefficients.map((c) => c[k]!)]));
}

/** The protocol's coefficients as a Mix: one per ingredient, or per layer name one per ingredient. */
function mixOf(coefficients: Coefficients, ingredients: number): Mix {
  const columns = Array.isArray(coefficients) ? [coefficients] : Object.values(coefficients);
  if (!columns.every((c) => Array.isArray(c) && c.every(Number.isFinite))) throw new UsageError("coefficients must be finite numbers");
  if (Array.isArray(coefficients)) {
    if (coefficients.length !== ingredients) throw new UsageError(`${coefficients.length} coefficient(s) given for ${ingredients} model(s)`);
    return { coefficients: coefficients.map((c) => [c]) };
  }
  const groups = Object.keys(coefficients);
  for (const g of groups) {
    if (coefficients[g]!.length !== ingredients) throw new UsageError(`layer "${g}" has ${coefficients[g]!.length} coefficient(s) for ${ingredients} model(s)`);
  }
  return { coefficients: Array.from({ length: ingredients }, (_, i) => groups.map((g) => coefficients[g]![i]!)), groups };
}

function pair(score: { loss: number; metric: number }): MetricPair {
  return { loss: score.loss, metric: score.metric };
}

/** A model's name as reports show it: the file name, or folder/model.json for a TF.js model. */
function modelLabel(m: string): string {
  return basename(m) === "model.json" ? `${basename(m.slice(0, -"/model.json".length))}/model.json` : basename(m);
}

function learningSummary(result: LearnResult): LearningSummary {
  return {
    optimizer: result.optimizer,
    budget: { ...result.budget },
    candidates: result.candidates.map((c) => ({ ...c })),
    start: result.start,
    kept: result.kept,
    ...(result.validation !== undefined ? { validation: { loss: result.validation.loss, ...(result.validation.metric !== undefined ? { metric: result.validation.metric } : {}) } } : {}),
    steps: result.steps,
    bestStep: result.bestStep,
    stoppedBy: result.stoppedBy,
    ...(result.refit !== undefined ? { refit: { ...result.refit } } : {}),
  };
}

async function mergeabilityReport(loaded: LoadedProblem, data: JobData, models: readonly string[], evaluation: SoupEvaluation, context: JobContext) {
  const task = taskFor(loaded.problem, data.validation, { trainingConfig: loaded.trainingConfig });
  const names = models.map(modelLabel);
  const result = await mergeability(loaded.problem, data.validation, task, { names, cancel: isCancelled(context) });
  const pairs: PairMergeability[] = result.pairs.map((p) => ({
    a: models[p.a]!,
    b: models[p.b]!,
    cosine: p.cosine,
    midpointLoss: p.lossMidpoint,
    endpointLoss: [p.lossA, p.lossB],
    barrier: p.barrier,
  }));
  void evaluation;
  return { pairs, warnings: result.warnings };
}

interface Prepared {
  backend: BackendName;
  loaded: LoadedProblem;
  data: JobData;
  started: number;
  alignment?: AlignmentOutcome;
}

async function prepare(
  params: { models: string[]; data: LearnParams["data"]; backend?: BackendName; jobId?: string; base?: string; align?: LearnParams["align"] },
  context: JobContext,
): Promise<Prepared> {
  const started = performance.now();
  const progress = (message: string) => context.progress({ jobId: params.jobId, phase: "loading", step: 0, totalSteps: 0, message });
  const backend = await useBackend(params.backend, context);
  progress("Reading the models");
  const loaded = await loadProblem(params.models, params.base);
  try {
    progress("Reading the data");
    const data = await loadJobData(params.data, loaded.problem.model);
    for (const note of data.notes) context.log("info", note);
    const alignment = params.align ? await alignLoaded(loaded, params.models, params.align, data, params, context).catch((e) => {
      disposeJobData(data);
      throw e;
    }) : undefined;
    return { backend, loaded, data, started, ...(alignment ? { alignment } : {}) };
  } catch (error) {
    disposeProblem(loaded);
    throw error;
  }
}

function release(prepared: Prepared): void {
  disposeJobData(prepared.data);
  disposeProblem(prepared.loaded);
}

function splitSizes(data: JobData) {
  return { ...data.split.sizes, seed: data.split.seed };
}

async function dataRecord(params: LearnParams["data"], data: JobData) {
  return {
    path: params.path,
    sha256: await sha256File(params.path),
    ...(params.label !== undefined ? { label: params.label } : {}),
    seed: data.split.seed,
    fractions: { ...data.split.fractions },
  };
}

/** The comparison every soup job reports: each ingredient, the uniform soup, the soup made, the ensemble. */
async function soupReport(
  prepared: Prepared,
  params: { models: string[] },
  evaluation: SoupEvaluation,
  method: string,
  coefficients: Coefficients,
  context: JobContext,
): Promise<SoupReport> {
  const { pairs, warnings } = await mergeabilityReport(prepared.loaded, prepared.data, params.models, evaluation, context);
  return {
    backend: prepared.backend,
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
    split: splitSizes(prepared.data),
    warnings: [...prepared.loaded.warnings, ...warnings],
    seconds: 0,
  };
}

/**
 * Without labels the comparison is the label-free objective itself: each model's mean prediction entropy on the
 * held-out inputs (loss and metric alike). Mergeability needs labelled losses and is left out.
 */
async function unlabeledReport(prepared: Prepared, params: LearnParams, merged: Mix, batchNormData: tf.Tensor | undefined, method: string, coefficients: Coefficients, context: JobContext): Promise<SoupReport> {
  const { loaded, data } = prepared;
  const task = resolveObjective(loaded.problem.model, "entropy", data.learn, { trainingConfig: loaded.trainingConfig }).task;
  const c = await compareEntropy(loaded.problem, data.test.x, task, { merged, batchNormData, cancel: isCancelled(context) });
  const entropy = (value: number): MetricPair => ({ loss: value, metric: value });
  return {
    backend: prepared.backend,
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

/** Writes the soup and its recipe (with the data and the report's metrics), and notes the output in the report. */
async function writeSoup(
  report: SoupReport,
  prepared: Prepared,
  params: { data: LearnParams["data"]; out?: string; jobId?: string },
  context: JobContext,
  what: Pick<SaveSoupOptions, "spec" | "origin" | "learning" | "overrides">,
): Promise<void> {
  context.progress({ jobId: params.jobId, phase: "writing", step: 0, totalSteps: 0, message: "Writing the merged model" });
  const saved = await saveSoup({
    ...what,
    ...(prepared.alignment ? { alignment: prepared.alignment.recipe } : {}),
    target: params.out!,
    protect: [dataProtection(params.data.path)],
    data: await dataRecord(params.data, prepared.data),
    metrics: { metricName: report.metricName, ...report.metrics },
    backend: prepared.backend,
    isCancelled: isCancelled(context),
  });
  report.output = { model: saved.model, recipe: saved.recipe };
  report.warnings.push(...saved.warnings.filter((w) => !report.warnings.includes(w)));
}

export async function runLearn(given: LearnParams, context: JobContext): Promise<SoupReport> {
  const params = await resolveSoupJob(given);
  const prepared = await prepare(params, context);
  const { loaded, data } = prepared;
  try {
    const learnable = await ensureLearnableBackend(loaded.problem.model, data.learn.x, prepared.backend, loaded.manifest.path);
    if (learnable.note) context.log("warning", learnable.note);
    prepared.backend = learnable.backend;
    const history: ProgressParams[] = [];
    const optimizer = params.optimizer ?? LEARN_DEFAULTS.optimizer;
    const totalSteps = params.maxSteps ?? (optimizer === "lbfgs" ? LEARN_DEFAULTS.lbfgsIterations : LEARN_DEFAULTS.maxSteps);
    // The greedy soup is one of the candidates the learner compares with and may start from (labelled data only).
    const candidates: StartCandidate[] = [];
    if (params.objective !== "entropy" && data.validation.y !== undefined && data.validation.x.shape[0]! > 0) {
      context.progress({ jobId: params.jobId, phase: "learning", step: 0, totalSteps, message: "Scoring the candidate soups on validation" });
      const task = taskFor(loaded.problem, data.validation, { trainingConfig: loaded.trainingConfig });
      const greedy = await greedySoup(loaded.problem, data.validation, task, { cancel: isCancelled(context) });
      candidates.push({ name: "greedy soup", coefficients: greedy.mix.coefficients.map((c) => c[0]!) });
    }
    const result = await learnCoefficients(loaded.problem, data.learn, data.validation, {
      granularity: params.granularity,
      parameterisation: params.parameterisation,
      objective: params.objective,
      optimizer: params.optimizer,
      learningRate: params.learningRate,
      batchSize: params.batchSize,
      patience: params.patience,
      maxSteps: params.maxSteps,
      refit: params.refit,
      ingredientNames: params.models.map(modelLabel),
      candidates,
      seed: params.data.seed ?? 0,
      trainingConfig: loaded.trainingConfig,
      reestimateBatchNorm: params.reestimateBatchNorm,
      cancel: isCancelled(context),
      onProgress: (p) => {
        const groups = params.granularity === "layer" ? [...new Set(loaded.problem.layerOf)] : ["*"];
        const update: ProgressParams = {
          jobId: params.jobId,
          phase: "learning",
          step: p.step,
          totalSteps,
          trainLoss: p.trainLoss,
          validationLoss: p.validationLoss,
          validationMetric: p.validationMetric,
          coefficients: toCoefficients(p.coefficients, groups.length === p.coefficients[0]!.length ? groups : ["*"]),
        };
        history.push(update);
        context.progress(update);
      },
    });
    // The learned soup's re-estimated BatchNormalization statistics: no weight average gives them, so the saved
    // model and its recipe carry them as they are (evaluation below overwrites the variables).
    const reestimated = new Set(result.batchNormReestimated);
    const overrides = Object.fromEntries(
      loaded.bindings
        .filter((b) => reestimated.has(b.layer) && /moving_(mean|variance)/.test(b.variable.name))
        .map((b) => [b.tensor, Array.from(b.variable.read().dataSync())]),
    );
    context.progress({ jobId: params.jobId, phase: "evaluating", step: result.steps, totalSteps: result.steps, message: "Evaluating on the test split" });
    const merged: Mix = { coefficients: result.coefficients, groups: result.groups };
    const batchNormData = result.batchNormReestimated.length > 0 ? data.learn.x : undefined;
    const coefficients = toCoefficients(result.coefficients, result.groups);
    const method = params.base !== undefined ? "learned task arithmetic" : "learned soup";
    const report =
      data.test.y === undefined
        ? await unlabeledReport(prepared, params, merged, batchNormData, method, coefficients, context)
        : await soupReport(
            prepared,
            params,
            await evaluateSoups(loaded.problem, data.test, { merged, trainingConfig: loaded.trainingConfig, batchNormData, cancel: isCancelled(context) }),
            method,
            coefficients,
            context,
          );
    report.history = history;
    report.learning = learningSummary(result);
    if (learnable.note) report.warnings.push(learnable.note);
    if (prepared.alignment) addAlignment(report, prepared.alignment);
    // Aligned models without BatchNormalization: REPAIR the learned soup, kept when it helps on validation.
    const repaired = prepared.alignment && data.test.y !== undefined && result.batchNormReestimated.length === 0
      ? await repairAndScore(loaded.problem, prepared.alignment.plan, merged, data, loaded.bindings.map((b) => b.tensor), { trainingConfig: loaded.trainingConfig, cancel: isCancelled(context) })
      : undefined;
    addRepair(report, repaired);
    if (repaired?.kept) Object.assign(overrides, repaired.overrides);
    if (params.out !== undefined) {
      await writeSoup(report, prepared, params, context, {
        spec: specFromCoefficients({
          method: params.base !== undefined ? "task_arithmetic" : "linear",
          paths: params.models,
          coefficients,
          ...(params.base !== undefined ? { base: params.base } : { params: { normalize: false } }),
        }),
        origin: "learned",
        learning: {
          granularity: result.granularity,
          parameterisation: result.parameterisation,
          objective: result.objective,
          optimizer: result.optimizer,
          loss: result.task.loss.name,
          steps: result.steps,
          bestStep: result.bestStep,
          stoppedBy: result.stoppedBy,
          start: result.start,
          kept: result.kept,
          ...(result.refit !== undefined ? { refit: result.refit } : {}),
        },
        ...(Object.keys(overrides).length > 0 ? { overrides } : {}),
      });
    }
    report.seconds = (performance.now() - prepared.started) / 1000;
    return report;
  } finally {
    release(prepared);
  }
}

export async function runEvaluate(given: EvaluateParams, context: JobContext): Promise<EvaluateReport> {
  const params = await resolveJobModels(given);
  const merged = params.coefficients === undefined ? undefined : mixOf(params.coefficients, params.models.length);
  const prepared = await prepare(params, context);
  const { loaded, data, backend } = prepared;
  try {
    const evaluation = await evaluateSoups(loaded.problem, data.test, { merged, trainingConfig: loaded.trainingConfig, cancel: isCancelled(context) });
    const { pairs, warnings } = await mergeabilityReport(loaded, data, params.models, evaluation, context);
    const report: EvaluateReport = {
      backend,
      metricName: evaluation.metricName,
      ...(params.coefficients !== undefined ? { method: "weighted average", coefficients: params.coefficients } : {}),
      metrics: {
        ingredients: params.models.map((model, i) => ({ model, ...pair(evaluation.ingredients[i]!) })),
        uniform: pair(evaluation.uniform),
        ...(evaluation.merged !== undefined ? { merged: pair(evaluation.merged) } : {}),
        ensemble: pair(evaluation.ensemble),
      },
      mergeability: pairs,
      split: splitSizes(data),
      warnings: [...loaded.warnings, ...warnings],
      seconds: 0,
    };
    if (prepared.alignment) {
      const options = { tensorNames: loaded.bindings.map((b) => b.tensor), trainingConfig: loaded.trainingConfig, seed: params.data.seed ?? 0, cancel: isCancelled(context) };
      await addAlignedSoups(report, prepared.alignment, loaded.problem, data, options);
    }
    report.seconds = (performance.now() - prepared.started) / 1000;
    return report;
  } finally {
    release(prepared);
  }
}

export async function runGreedy(given: GreedyParams, context: JobContext): Promise<SoupReport> {
  const params = await resolveSoupJob(given);
  const prepared = await prepare(params, context);
  const { loaded, data, backend } = prepared;
  try {
    const task = taskFor(loaded.problem, data.validation, { trainingConfig: loaded.trainingConfig });
    const greedy = await greedySoup(loaded.problem, data.validation, task, { cancel: isCancelled(context) });
    const evaluation = await evaluateSoups(loaded.problem, data.test, {
      task,
      merged: greedy.mix,
      cancel: isCancelled(context),
    });
    const coefficients = toCoefficients(greedy.mix.coefficients, ["*"]);
    const report = await soupReport(prepared, params, evaluation, "greedy soup", coefficients, context);
    if (prepared.alignment) addAlignment(report, prepared.alignment);
    // Aligned models without BatchNormalization: REPAIR the greedy soup, kept when it helps on validation.
    const repaired = prepared.alignment
      ? await repairAndScore(loaded.problem, prepared.alignment.plan, greedy.mix, data, loaded.bindings.map((b) => b.tensor), { trainingConfig: loaded.trainingConfig, cancel: isCancelled(context) })
      : undefined;
    addRepair(report, repaired);
    if (params.out !== undefined) {
      await writeSoup(report, prepared, params, context, {
        spec: specFromCoefficients({ method: "linear", paths: params.models, coefficients, params: { normalize: false } }),
        origin: "greedy",
        learning: { kept: greedy.kept.map((i) => params.models[i]) },
        ...(repaired?.kept ? { overrides: repaired.overrides } : {}),
      });
    }
    report.seconds = (performance.now() - prepared.started) / 1000;
    return report;
  } finally {
    release(prepared);
  }
}

export async function runBackend(params: { preference?: BackendName }, context: JobContext) {
  const choice = await selectBackend(params.preference);
  void context;
  return { backend: choice.backend, notes: choice.skipped.map((s) => `${s.backend}: ${s.reason}`) };
}
