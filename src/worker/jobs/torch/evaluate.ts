/** The evaluate job on PyTorch (jobs/evaluate.ts's report, through the engine). */
import { UsageError } from "../../../core/errors.js";
import type { JobContext } from "../../../core/job-context.js";
import type { EvaluateParams, EvaluateReport } from "../../../protocol/worker.js";
import { mixOf } from "../session/coefficients.js";
import { torchSplitReport } from "./data.js";
import type { TorchModel } from "./engine-choice.js";
import { labelledSplits, unlabelledFile } from "./learn.js";
import { labelledComparison } from "./report.js";
import { compareOnTest, scoreWrittenOnTest, uniformEngineSoup, writeEngineSoup, type EngineSoup } from "./rows.js";
import { closeTorchSession, openTorchSession, outputUnits } from "./session.js";
import { torchObjective } from "./task.js";
import { evaluateRecords } from "../session/evaluate-records.js";
import { torchBatchNormOverrides, torchSoupRecord } from "./write.js";
import { addAlignment, repairSummary } from "../../align/report.js";
import { ALIGNED_LEARNED_SOUP } from "../../align/evaluate-aligned.js";
import { metricPair } from "../../evaluate/score.js";
import { learnCoefficients } from "../../learn/learn.js";
import { modelLabel } from "../session/report.js";
import { repairTorchSoup } from "./repair.js";

export async function runTorchEvaluate(
  params: EvaluateParams,
  model: TorchModel,
  context: JobContext,
): Promise<EvaluateReport> {
  const given = params.coefficients === undefined ? undefined : mixOf(params.coefficients, params.models.length);
  const session = await openTorchSession(params, model, context);
  try {
    if (!labelledSplits(session))
      throw new UsageError(`${unlabelledFile(session, params.data)}: evaluation needs labelled rows`);
    const objective = torchObjective("supervised", session.labels, outputUnits(session), params.loss);
    const uniform = await uniformEngineSoup(session.engine, objective, true);
    // Given weights are scored as `merge` writes them: the weight average, statistics included.
    const soups: EngineSoup[] = [uniform.soup, ...(given !== undefined ? [{ mix: given }] : [])];
    const compared = await compareOnTest(session.engine, objective.task, session.data.split.test, soups, true);
    const rows = await labelledComparison(session, objective, compared);
    const report: EvaluateReport = {
      backend: session.backend,
      metricName: objective.task.metric,
      ...(params.coefficients !== undefined ? { method: "weighted average", coefficients: params.coefficients } : {}),
      metrics: {
        ingredients: rows.ingredients,
        uniform: rows.soups[0]!,
        ...(given !== undefined ? { merged: rows.soups[1]! } : {}),
        ensemble: rows.ensemble,
      },
      mergeability: rows.mergeability,
      split: torchSplitReport(session.data),
      ...(rows.testClassCounts !== undefined ? { testClassCounts: rows.testClassCounts } : {}),
      warnings: [...session.warnings, ...rows.warnings],
      seconds: 0,
    };
    if (session.alignment !== undefined) {
      // As the TF.js job (align/evaluate-aligned.ts): the rows are the aligned models', with their learned soup
      // (the learner's defaults), REPAIRed when that lowers the validation loss; no panel records.
      addAlignment(report, session.alignment);
      const learned = await learnCoefficients(session.engine, objective, {
        ingredientNames: params.models.map(modelLabel),
        seed: params.data.seed ?? 0,
        cancel: context.token,
      });
      const soup: EngineSoup = {
        mix: { coefficients: learned.coefficients, ...(learned.groups[0] !== "*" ? { groups: learned.groups } : {}) },
        ...(learned.batchNormStatistics !== undefined ? { statistics: learned.batchNormStatistics } : {}),
      };
      await writeEngineSoup(session.engine, soup);
      let score = metricPair(await scoreWrittenOnTest(session.engine, objective.task, session.data.split.test, true));
      if (learned.batchNormReestimated.length === 0) {
        const repaired = await repairTorchSoup(
          session.engine,
          session.alignment,
          soup.mix,
          objective,
          session.data.split.test,
        );
        if (repaired !== undefined) {
          report.alignment!.repair = repairSummary(repaired);
          if (repaired.kept && repaired.test !== undefined) score = metricPair(repaired.test);
        }
      }
      report.metrics.methods = [...(report.metrics.methods ?? []), { method: ALIGNED_LEARNED_SOUP, ...score }];
      report.seconds = (performance.now() - session.started) / 1000;
      return report;
    }
    // What the panel's save of either soup records (the uniform one with the statistics it was scored with).
    report.records = await evaluateRecords(
      report,
      {
        reestimated: uniform.soup.statistics !== undefined,
        overrides: torchBatchNormOverrides(uniform.soup.statistics),
      },
      (figures, what) => torchSoupRecord(figures, session, params.data, what, objective.task),
    );
    report.seconds = (performance.now() - session.started) / 1000;
    return report;
  } finally {
    await closeTorchSession(session);
  }
}
