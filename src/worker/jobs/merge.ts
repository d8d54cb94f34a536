/**
 * The `merge` request in the worker: the fixed merge (core/soup/fixed-merge.ts), and, when it saves a soup a job
 * scored (the editor's Save with the job's record, whose metrics say what the soup scored), the written file scored
 * again on the record's data and refused when it differs (session/verify.ts), as the job itself would have.
 */
import type { BackendName, DataSpec, MergeParams, MergeResult, MetricPair, RecipeData } from "../../protocol/worker.js";
import type { JobContext } from "../../core/job-context.js";
import { runMerge } from "../../core/soup/fixed-merge.js";
import { resolveJobModels } from "../../core/soup/job-inputs.js";
import { recordedLossChoice } from "../learn/loss-choice.js";
import { taskFor } from "../evaluate/evaluate.js";
import { closeSession, openSession } from "./session/session.js";
import { entropyTask } from "./session/report.js";
import { writtenModelCheck } from "./session/verify.js";

/** The figures a record says its soup scored on the test split, when it says any. */
function recordedFigures(params: MergeParams): { metricName: string; merged: MetricPair } | undefined {
  const metrics = params.record?.metrics as { metricName?: unknown; merged?: Partial<MetricPair> } | undefined;
  const merged = metrics?.merged;
  if (params.record?.data === undefined || typeof merged?.loss !== "number" || typeof merged.metric !== "number")
    return undefined;
  return {
    metricName: typeof metrics!.metricName === "string" ? metrics!.metricName : "metric",
    merged: { ...merged, loss: merged.loss, metric: merged.metric },
  };
}

/** The data a record names, read and split again as the job that made it did. */
function dataOf(data: RecipeData): DataSpec {
  return {
    path: data.path,
    ...(data.label !== undefined ? { label: data.label } : {}),
    ...(data.scale !== undefined ? { scale: data.scale } : {}),
    ...(data.inputKey !== undefined ? { inputKey: data.inputKey } : {}),
    ...(data.test !== undefined ? { test: data.test.path } : {}),
    seed: data.seed,
    fractions: data.fractions as NonNullable<DataSpec["fractions"]>,
    ...(data.maxRows !== undefined ? { maxRows: data.maxRows } : {}),
  };
}

/** Whether this merge saves a scored soup, which the worker checks with TensorFlow.js (one such job at a time). */
export function savesScoredSoup(params: MergeParams): boolean {
  return params.spec === undefined && recordedFigures(params) !== undefined;
}

/** A merge that saves a scored soup: written, then its file scored on the record's test split and compared. */
export async function runCheckedMerge(given: MergeParams, context: JobContext): Promise<MergeResult> {
  const recorded = recordedFigures(given);
  if (given.spec !== undefined || recorded === undefined) return runMerge(given, context);
  const params = await resolveJobModels(given);
  const data = params.record!.data!;
  const loss = recordedLossChoice(data.loss);
  const backend = (params.record!.backend as BackendName | undefined) ?? params.backend;
  const session = await openSession(
    {
      models: params.models,
      data: dataOf(data),
      // Scored again where the job scored it (its record's backend), so the figures agree to the last bit.
      ...(backend !== undefined ? { backend } : {}),
      ...(loss !== undefined ? { loss } : {}),
      ...(params.architecture !== undefined ? { architecture: params.architecture } : {}),
      jobId: params.jobId,
    },
    context,
  );
  try {
    const { loaded } = session;
    const byEntropy = recorded.metricName === "entropy";
    const task = byEntropy
      ? entropyTask(loaded, session.data)
      : taskFor(loaded.problem, session.data.validation, { trainingConfig: loaded.trainingConfig });
    const check = writtenModelCheck(
      loaded,
      session.data.test,
      { task, by: byEntropy ? "entropy" : "labels" },
      () => recorded.merged,
      () => {},
      { metricName: recorded.metricName, split: "test" },
      context.token,
    );
    return await runMerge(params, context, check);
  } finally {
    closeSession(session);
  }
}
