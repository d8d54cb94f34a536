/** The greedy soup job on PyTorch (jobs/greedy.ts's report and file, through the engine). */
import { specFromCoefficients } from "../../../core/merge/coefficients.js";
import { UsageError } from "../../../core/errors.js";
import type { JobContext } from "../../../core/job-context.js";
import type { GreedyParams, SoupReport } from "../../../protocol/worker.js";
import { toCoefficients } from "../session/coefficients.js";
import { GREEDY_SOUP } from "../session/report.js";
import { torchSplitReport } from "./data.js";
import type { TorchModel } from "./engine-choice.js";
import { labelledSplits, unlabelledFile } from "./learn.js";
import { labelledComparison } from "./report.js";
import { compareOnTest, greedyEngineSoup, uniformEngineSoup } from "./rows.js";
import { closeTorchSession, openTorchSession, outputUnits } from "./session.js";
import { torchObjective } from "./task.js";
import { torchBatchNormOverrides, writeTorchSoup } from "./write.js";
import { addAlignment, addRepair } from "../../align/report.js";
import { repairTorchSoup } from "./repair.js";

export async function runTorchGreedy(
  params: GreedyParams,
  model: TorchModel,
  context: JobContext,
): Promise<SoupReport> {
  const session = await openTorchSession(params, model, context);
  try {
    if (!labelledSplits(session))
      throw new UsageError(`${unlabelledFile(session, params.data)}: the greedy soup needs labelled rows`);
    const objective = torchObjective("supervised", session.labels, outputUnits(session), params.loss);
    const uniform = await uniformEngineSoup(session.engine, objective, true);
    const greedy = await greedyEngineSoup(session.engine, objective);
    const compared = await compareOnTest(
      session.engine,
      objective.task,
      session.data.split.test,
      [uniform.soup, greedy.soup],
      true,
    );
    const rows = await labelledComparison(session, objective, compared);
    const coefficients = toCoefficients(greedy.soup.mix.coefficients, ["*"]);
    const report: SoupReport = {
      backend: session.backend,
      method: GREEDY_SOUP,
      coefficients,
      metricName: objective.task.metric,
      metrics: {
        ingredients: rows.ingredients,
        uniform: rows.soups[0]!,
        merged: rows.soups[1]!,
        ensemble: rows.ensemble,
      },
      mergeability: rows.mergeability,
      split: torchSplitReport(session.data),
      ...(rows.testClassCounts !== undefined ? { testClassCounts: rows.testClassCounts } : {}),
      warnings: [...session.warnings, ...rows.warnings],
      seconds: 0,
    };
    if (session.alignment !== undefined) addAlignment(report, session.alignment);
    // Aligned models without BatchNorm: REPAIR the greedy soup, kept when it helps on validation.
    const repaired =
      session.alignment !== undefined
        ? await repairTorchSoup(session.engine, session.alignment, greedy.soup.mix, objective, session.data.split.test)
        : undefined;
    addRepair(report, repaired);
    await writeTorchSoup(
      report,
      session,
      params,
      context,
      {
        spec: specFromCoefficients({
          method: "linear",
          paths: params.models,
          coefficients,
          params: { normalize: false },
        }),
        origin: "greedy",
        learning: {
          kept: greedy.kept.map((i) => params.models[i]),
          batchNorm: greedy.soup.statistics !== undefined ? "re-estimated" : "averaged",
        },
        overrides: {
          ...torchBatchNormOverrides(greedy.soup.statistics),
          ...(repaired?.kept ? repaired.overrides : {}),
        },
      },
      { task: objective.task, byLabels: true },
    );
    report.seconds = (performance.now() - session.started) / 1000;
    return report;
  } finally {
    await closeTorchSession(session);
  }
}
