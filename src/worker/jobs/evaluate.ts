/** The evaluate job: each ingredient, the uniform soup (and a given weighted soup) and the ensemble on the test split. */
import type { EvaluateParams, EvaluateReport } from "../../protocol/worker.js";
import { addAlignedSoups } from "../align/evaluate-aligned.js";
import { evaluateSoups, taskFor } from "../evaluate/evaluate.js";
import { uniformSoupRow } from "../evaluate/rows.js";
import type { JobContext } from "../../core/job-context.js";
import { resolveJobModels } from "../../core/soup/job-inputs.js";
import { torchModelFor } from "./torch/engine-choice.js";
import { runTorchEvaluate } from "./torch/evaluate.js";
import { openSession, closeSession, splitSizes } from "./session/session.js";
import { mixOf } from "./session/coefficients.js";
import { mergeabilityReport, pair } from "./session/report.js";
import { batchNormOverrides, soupRecord } from "./session/write.js";
import { evaluateRecords } from "./session/evaluate-records.js";

export async function runEvaluate(given: EvaluateParams, context: JobContext): Promise<EvaluateReport> {
  const params = await resolveJobModels(given);
  const torch = await torchModelFor(params.models, params.architecture);
  if (torch !== undefined) return runTorchEvaluate(params, torch, context);
  const merged = params.coefficients === undefined ? undefined : mixOf(params.coefficients, params.models.length);
  const session = await openSession(params, context);
  const { loaded, data, backend } = session;
  try {
    const task = taskFor(loaded.problem, data.test, { trainingConfig: loaded.trainingConfig });
    const uniform = await uniformSoupRow(loaded.problem, task, data, { cancel: context.token });
    // Given weights are scored as `merge` writes them: the weight average, statistics included.
    const evaluation = await evaluateSoups(loaded.problem, data.test, {
      task,
      uniform: uniform.candidate,
      ...(merged !== undefined ? { merged: { mix: merged } } : {}),
      cancel: context.token,
    });
    const { pairs, warnings } = await mergeabilityReport(loaded, data, params.models, context);
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
      ...(evaluation.classCounts !== undefined ? { testClassCounts: evaluation.classCounts } : {}),
      warnings: [...loaded.warnings, ...warnings],
      seconds: 0,
    };
    if (!session.alignment) {
      // What the panel's save of either soup records (the uniform one with the statistics it was scored with).
      report.records = await evaluateRecords(
        report,
        {
          reestimated: uniform.candidate.statistics !== undefined,
          overrides: batchNormOverrides(loaded.bindings, uniform.candidate.statistics),
        },
        (figures, what) => soupRecord(figures, session, params.data, what, task),
      );
    }
    if (session.alignment) {
      const options = {
        tensorNames: loaded.bindings.map((b) => b.tensor),
        trainingConfig: loaded.trainingConfig,
        seed: params.data.seed ?? 0,
        cancel: context.token,
      };
      await addAlignedSoups(report, session.alignment, loaded.problem, data, options);
    }
    report.seconds = (performance.now() - session.started) / 1000;
    return report;
  } finally {
    closeSession(session);
  }
}
