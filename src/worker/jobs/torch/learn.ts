/**
 * The learn job on PyTorch: the one learner (worker/learn/learn.ts) through a TorchEngine, with the candidates,
 * the held-out comparison, the report and the written file the TensorFlow.js job (jobs/learn.ts) has.
 */
import { specFromCoefficients } from "../../../core/merge/coefficients.js";
import type { JobContext } from "../../../core/job-context.js";
import type { LearnParams, MetricPair, ProgressParams, SoupReport } from "../../../protocol/worker.js";
import { LEARN_DEFAULTS } from "../../../protocol/learn-defaults.js";
import { metricPair } from "../../evaluate/score.js";
import { uniformMix } from "../../evaluate/soup.js";
import { learnCoefficients, type StartCandidate } from "../../learn/learn.js";
import { toCoefficients } from "../session/coefficients.js";
import { GREEDY_SOUP, learningSummary, modelLabel } from "../session/report.js";
import { torchSplitReport } from "./data.js";
import type { TorchModel } from "./engine-choice.js";
import {
  compareOnTest,
  engineMergeability,
  greedyEngineSoup,
  uniformEngineSoup,
  type EngineGreedySoup,
  type EngineSoup,
  type SettledEngineSoup,
} from "./rows.js";
import { closeTorchSession, openTorchSession, outputUnits, type TorchSession } from "./session.js";
import { torchObjective, torchTask } from "./task.js";
import { torchBatchNormOverrides, writeTorchSoup } from "./write.js";
import { addAlignment, addRepair } from "../../align/report.js";
import { repairTorchSoup } from "./repair.js";

/** Whether the session's validation and test splits hold labelled rows (the comparison by the labels). */
export function labelledSplits(session: TorchSession): boolean {
  const { validation, test } = session.data.split;
  return validation.y !== undefined && validation.xShape[0]! > 0 && test.y !== undefined;
}

/** The file whose rows lack the labels `labelledSplits` wants: the `--test` file when its rows are unlabelled. */
export function unlabelledFile(session: TorchSession, data: { path: string; test?: string }): string {
  return session.data.split.test.y === undefined && data.test !== undefined ? data.test : data.path;
}

export async function runTorchLearn(params: LearnParams, model: TorchModel, context: JobContext): Promise<SoupReport> {
  const session = await openTorchSession(params, model, context);
  try {
    return await learnOn(session, params, context);
  } finally {
    await closeTorchSession(session);
  }
}

async function learnOn(session: TorchSession, params: LearnParams, context: JobContext): Promise<SoupReport> {
  const { engine } = session;
  const units = outputUnits(session);
  const objectiveName = params.objective ?? LEARN_DEFAULTS.objective;
  const objective = torchObjective(objectiveName, session.labels, units, params.loss);
  const optimizer = params.optimizer ?? LEARN_DEFAULTS.optimizer;
  const totalSteps =
    params.maxSteps ?? (optimizer === "lbfgs" ? LEARN_DEFAULTS.lbfgsIterations : LEARN_DEFAULTS.maxSteps);
  // The comparison by the labels, with the greedy soup among the learner's candidates (the TF.js job's rule).
  const byLabels = objectiveName !== "entropy" && labelledSplits(session);
  const supervised = byLabels
    ? { name: "supervised" as const, task: torchTask(session.labels, units, params.loss) }
    : undefined;
  const candidates: StartCandidate[] = [];
  let rows: { uniform: SettledEngineSoup; greedy: EngineGreedySoup } | undefined;
  if (supervised !== undefined) {
    context.progress({
      jobId: params.jobId,
      phase: "learning",
      step: 0,
      totalSteps,
      message: "Scoring the candidate soups on validation",
    });
    const uniform = await uniformEngineSoup(engine, supervised, true);
    const greedy = await greedyEngineSoup(engine, supervised);
    rows = { uniform, greedy };
    candidates.push({ name: GREEDY_SOUP, coefficients: greedy.soup.mix.coefficients.map((c) => c[0]!) });
  }
  const history: ProgressParams[] = [];
  const groupsOf = [...new Set(engine.layerOf)];
  const result = await learnCoefficients(engine, objective, {
    granularity: params.granularity,
    parameterisation: params.parameterisation,
    optimizer: params.optimizer,
    learningRate: params.learningRate,
    batchSize: params.batchSize,
    patience: params.patience,
    maxSteps: params.maxSteps,
    refit: params.refit,
    ingredientNames: params.models.map(modelLabel),
    candidates,
    seed: params.data.seed ?? 0,
    reestimateBatchNorm: params.reestimateBatchNorm,
    cancel: context.token,
    onProgress: (p) => {
      const groups = params.granularity === "layer" ? groupsOf : ["*"];
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
  context.progress({
    jobId: params.jobId,
    phase: "evaluating",
    step: result.steps,
    totalSteps: result.steps,
    message: "Evaluating on the test split",
  });
  const merged: EngineSoup = {
    mix: { coefficients: result.coefficients, ...(result.groups[0] !== "*" ? { groups: result.groups } : {}) },
    ...(result.batchNormStatistics !== undefined ? { statistics: result.batchNormStatistics } : {}),
  };
  const coefficients = toCoefficients(result.coefficients, result.groups);
  const method = params.base !== undefined ? "learned task arithmetic" : "learned soup";
  const uniform: EngineSoup = rows?.uniform.soup ?? { mix: uniformMix(engine.ingredients) };
  const task = supervised?.task ?? objective.task;
  const compared = await compareOnTest(
    engine,
    task,
    session.data.split.test,
    [uniform, merged, ...(rows ? [rows.greedy.soup] : [])],
    byLabels,
  );
  const entropy = (p: MetricPair): MetricPair => (byLabels ? p : { loss: p.loss, metric: p.loss });
  const mergeability = byLabels
    ? await engineMergeability(engine, supervised!, session.ingredients, params.models, params.models.map(modelLabel))
    : { pairs: [], warnings: [] };
  const report: SoupReport = {
    backend: session.backend,
    method,
    coefficients,
    metricName: byLabels ? task.metric : "entropy",
    metrics: {
      ingredients: params.models.map((model, i) => ({ model, ...entropy(metricPair(compared.ingredients[i]!)) })),
      uniform: entropy(metricPair(compared.soups[0]!)),
      merged: entropy(metricPair(compared.soups[1]!)),
      ensemble: entropy(metricPair(compared.ensemble)),
      ...(rows ? { methods: [{ method: GREEDY_SOUP, ...metricPair(compared.soups[2]!) }] } : {}),
    },
    mergeability: mergeability.pairs,
    split: torchSplitReport(session.data),
    ...(byLabels && compared.classCounts !== undefined ? { testClassCounts: compared.classCounts } : {}),
    warnings: [
      ...session.warnings,
      ...mergeability.warnings,
      ...(byLabels
        ? []
        : [
            `${params.data.path}: models are compared by mean prediction entropy on the test split (lower is more confident, not more accurate), and mergeability is not checked`,
          ]),
    ],
    seconds: 0,
    history,
    learning: learningSummary(result),
  };
  if (session.alignment !== undefined) addAlignment(report, session.alignment);
  // Aligned models without BatchNorm: REPAIR the learned soup, kept when it helps on validation.
  const repaired =
    session.alignment !== undefined && supervised !== undefined && result.batchNormReestimated.length === 0
      ? await repairTorchSoup(engine, session.alignment, merged.mix, supervised, session.data.split.test)
      : undefined;
  addRepair(report, repaired);
  await writeTorchSoup(
    report,
    session,
    params,
    context,
    {
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
        batchNorm: result.batchNormReestimated.length > 0 ? "re-estimated" : "averaged",
        ...(result.refit !== undefined ? { refit: result.refit } : {}),
      },
      overrides: {
        ...torchBatchNormOverrides(result.batchNormStatistics),
        ...(repaired?.kept ? repaired.overrides : {}),
      },
    },
    { task, byLabels },
  );
  report.seconds = (performance.now() - session.started) / 1000;
  return report;
}
