/** `merge --method regmean|fisher|regmean_plusplus --data` on PyTorch (jobs/data-merge.ts's report and file). */
import type { JobContext } from "../../../core/job-context.js";
import type { DataMergeParams, MetricPair, SoupReport } from "../../../protocol/worker.js";
import { metricPair } from "../../evaluate/score.js";
import type { Task } from "../../learn/loss.js";
import { dataAwareWrite } from "../session/data-aware-merge.js";
import { dataMergeReport, evaluatingOnTest } from "../data-merge-report.js";
import { torchSplitReport } from "./data.js";
import { torchDataAwareMerge, torchStatisticsTask, writeMergedValues } from "./data-aware.js";
import type { TorchModel } from "./engine-choice.js";
import { compareOnTest, scoreWrittenOnTest, uniformEngineSoup } from "./rows.js";
import { closeTorchSession, openTorchSession, type TorchSession } from "./session.js";
import { writeTorchSoup } from "./write.js";

/**
 * The references of a data-aware merge (each ingredient, the uniform soup settled as every command settles it, the
 * output ensemble) on the test split: by the labels, or label-free by the mean prediction entropy.
 */
export async function torchReferences(session: TorchSession, task: Task, byLabels: boolean) {
  const { validation, test } = session.data.split;
  const labelledValidation = validation.y !== undefined && validation.xShape[0]! > 0;
  const uniform = await uniformEngineSoup(session.engine, { name: "supervised", task }, labelledValidation);
  const compared = await compareOnTest(session.engine, task, test, [uniform.soup], byLabels);
  return {
    metricName: byLabels ? task.metric : ("entropy" as const),
    ingredients: compared.ingredients.map(metricPair),
    uniform: metricPair(compared.soups[0]!),
    ensemble: metricPair(compared.ensemble),
    ...(byLabels && compared.classCounts !== undefined ? { classCounts: compared.classCounts } : {}),
  };
}

/** The test score of merged values (every merged tensor, engine order), written into the engine. */
export async function scoreMergedValues(
  session: TorchSession,
  values: readonly Float32Array[],
  task: Task,
  byLabels: boolean,
): Promise<MetricPair> {
  await writeMergedValues(session.engine, values);
  return metricPair(await scoreWrittenOnTest(session.engine, task, session.data.split.test, byLabels));
}

export async function runTorchDataMerge(
  params: DataMergeParams,
  model: TorchModel,
  context: JobContext,
): Promise<SoupReport> {
  const session = await openTorchSession(params, model, context);
  try {
    const task = torchStatisticsTask(session, params.loss);
    const byLabels = session.data.split.test.y !== undefined;
    const merge = await torchDataAwareMerge(session, params.method, params, task, context, params.jobId);
    evaluatingOnTest(context, params.jobId);
    const refs = await torchReferences(session, task, byLabels);
    const merged = await scoreMergedValues(session, merge.values, task, byLabels);
    const split = torchSplitReport(session.data);
    const warnings = [...session.warnings, ...merge.warnings];
    const report = dataMergeReport(params, { backend: session.backend, refs, merged, split, warnings });
    await writeTorchSoup(
      report,
      session,
      params,
      context,
      dataAwareWrite(merge, params.method, session.data.split.sizes.learn),
      { task, byLabels },
    );
    report.seconds = (performance.now() - session.started) / 1000;
    return report;
  } finally {
    await closeTorchSession(session);
  }
}
