/** The learn job: learns the soup's coefficients (worker/learn), evaluates it on the test split, writes it when asked. */
import { specFromCoefficients } from "../../core/merge/coefficients.js";
import type { LearnParams, ProgressParams, SoupReport } from "../../protocol/worker.js";
import { ensureLearnableBackend } from "../learnable-backend.js";
import { evaluateSoups, taskFor } from "../evaluate/evaluate.js";
import { greedySoupRow, uniformSoupRow, type SettledSoup } from "../evaluate/rows.js";
import type { SoupCandidate } from "../evaluate/soup.js";
import { LEARN_DEFAULTS } from "../../protocol/learn-defaults.js";
import { learnOnTfjs } from "../engine/tfjs-learn.js";
import type { StartCandidate } from "../learn/learn.js";
import type { JobContext } from "../../core/job-context.js";
import { resolveSoupJob } from "../../core/soup/job-inputs.js";
import { addAlignment, addRepair } from "../align/report.js";
import { repairAndScore } from "../align/repair.js";
import { openSession, closeSession } from "./session/session.js";
import { toCoefficients } from "./session/coefficients.js";
import { GREEDY_SOUP, learningSummary, modelLabel, pair, soupReport, unlabeledReport } from "./session/report.js";
import { batchNormOverrides, writeSoup } from "./session/write.js";
import { torchModelFor } from "./torch/engine-choice.js";
import { runTorchLearn } from "./torch/learn.js";

export async function runLearn(given: LearnParams, context: JobContext): Promise<SoupReport> {
  const params = await resolveSoupJob(given);
  const torch = await torchModelFor(params.models, params.architecture);
  if (torch !== undefined) return runTorchLearn(params, torch, context);
  const session = await openSession(params, context);
  const { loaded, data } = session;
  try {
    const learnable = await ensureLearnableBackend(
      loaded.problem.model,
      data.learn.x,
      session.backend,
      loaded.manifest.path,
    );
    if (learnable.note) context.log("warning", learnable.note);
    session.backend = learnable.backend;
    const history: ProgressParams[] = [];
    const optimizer = params.optimizer ?? LEARN_DEFAULTS.optimizer;
    const totalSteps =
      params.maxSteps ?? (optimizer === "lbfgs" ? LEARN_DEFAULTS.lbfgsIterations : LEARN_DEFAULTS.maxSteps);
    // The rows every command shares (rows.ts), and the greedy soup as one of the learner's candidates (labelled data).
    const labelled = data.validation.y !== undefined && data.validation.x.shape[0]! > 0 && data.test.y !== undefined;
    const task = labelled
      ? taskFor(loaded.problem, data.validation, { trainingConfig: loaded.trainingConfig })
      : undefined;
    const candidates: StartCandidate[] = [];
    let rows: { uniform: SettledSoup; greedy: SettledSoup } | undefined;
    if (params.objective !== "entropy" && task !== undefined) {
      context.progress({
        jobId: params.jobId,
        phase: "learning",
        step: 0,
        totalSteps,
        message: "Scoring the candidate soups on validation",
      });
      const options = { cancel: context.token };
      const uniform = await uniformSoupRow(loaded.problem, task, data, options);
      const greedy = await greedySoupRow(loaded.problem, task, data, options);
      rows = { uniform, greedy };
      candidates.push({ name: GREEDY_SOUP, coefficients: greedy.candidate.mix.coefficients.map((c) => c[0]!) });
    }
    const result = await learnOnTfjs(loaded.problem, data.learn, data.validation, {
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
      cancel: context.token,
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
    // The kept soup as the learner scored it: its BatchNormalization statistics (re-estimated before choosing, when
    // that won on validation) are written as they are, since no weight average gives them.
    const overrides = batchNormOverrides(loaded.bindings, result.batchNormStatistics);
    context.progress({
      jobId: params.jobId,
      phase: "evaluating",
      step: result.steps,
      totalSteps: result.steps,
      message: "Evaluating on the test split",
    });
    const merged: SoupCandidate = {
      mix: { coefficients: result.coefficients, groups: result.groups },
      ...(result.batchNormStatistics !== undefined ? { statistics: result.batchNormStatistics } : {}),
    };
    const coefficients = toCoefficients(result.coefficients, result.groups);
    const method = params.base !== undefined ? "learned task arithmetic" : "learned soup";
    let report: SoupReport;
    if (task === undefined || rows === undefined) {
      report = await unlabeledReport(session, params, merged, method, coefficients, context);
    } else {
      const evaluation = await evaluateSoups(loaded.problem, data.test, {
        task,
        uniform: rows.uniform.candidate,
        merged,
        others: [rows.greedy.candidate],
        cancel: context.token,
      });
      report = await soupReport(session, params, evaluation, method, coefficients, context);
      report.metrics.methods = [{ method: GREEDY_SOUP, ...pair(evaluation.others[0]!) }];
    }
    report.history = history;
    report.learning = learningSummary(result);
    if (learnable.note) report.warnings.push(learnable.note);
    if (session.alignment) addAlignment(report, session.alignment);
    // Aligned models without BatchNormalization: REPAIR the learned soup, kept when it helps on validation.
    const repaired =
      session.alignment && data.test.y !== undefined && result.batchNormReestimated.length === 0
        ? await repairAndScore(
            loaded.problem,
            session.alignment.plan,
            merged.mix,
            data,
            loaded.bindings.map((b) => b.tensor),
            { trainingConfig: loaded.trainingConfig, cancel: context.token },
          )
        : undefined;
    addRepair(report, repaired);
    if (repaired?.kept) Object.assign(overrides, repaired.overrides);
    await writeSoup(
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
        ...(Object.keys(overrides).length > 0 ? { overrides } : {}),
      },
      task,
    );
    report.seconds = (performance.now() - session.started) / 1000;
    return report;
  } finally {
    closeSession(session);
  }
}
