/** The `dataMerge` request: `merge --method regmean|fisher|regmean_plusplus --data`. */
import { UsageError } from "../../core/errors.js";
import type { DataMergeParams, SoupReport } from "../../protocol/worker.js";
import { DATA_AWARE_METHODS, isDataAwareMethod } from "../../protocol/worker.js";
import { writeIngredient } from "../stats/index.js";
import type { JobContext } from "../../core/job-context.js";
import { splitReport as splitSizes } from "./session/data.js";
import { writeSoup } from "./session/write.js";
import { resolveSoupJob } from "../../core/soup/job-inputs.js";

import { closeSession, openSession, plainSessionParams } from "./session/session.js";
import { torchModelFor } from "./torch/engine-choice.js";
import { runTorchDataMerge } from "./torch/data-merge.js";
import {
  dataAwareMerge,
  dataAwareWrite,
  references,
  scoreCurrent,
  statisticsTask,
} from "./session/data-aware-merge.js";
import { dataMergeReport, evaluatingOnTest } from "./data-merge-report.js";

/** `merge --method regmean|fisher --data`: the merge, its held-out comparison, and (with `out`) the model and recipe. */
export async function runDataMerge(given: DataMergeParams, context: JobContext): Promise<SoupReport> {
  const params = await resolveSoupJob(given);
  if (!isDataAwareMethod(params.method))
    throw new UsageError(
      `"${String(params.method)}" is not a data-aware method; expected ${DATA_AWARE_METHODS.join(", ")}`,
    );
  const torch = await torchModelFor(params.models, params.architecture);
  if (torch !== undefined) return runTorchDataMerge(params, torch, context);
  const session = await openSession(plainSessionParams(params), context);
  try {
    const task = statisticsTask(session);
    const merge = await dataAwareMerge(session, params.method, params.models, params, context, params.jobId);
    evaluatingOnTest(context, params.jobId);
    writeIngredient(session.loaded.problem, merge.values);
    const merged = await scoreCurrent(session, task, context);
    const refs = await references(session, task, context);
    const split = splitSizes(session.data);
    const warnings = [...session.loaded.warnings, ...merge.warnings];
    const report = dataMergeReport(params, { backend: session.backend, refs, merged, split, warnings });
    await writeSoup(
      report,
      session,
      params,
      context,
      dataAwareWrite(merge, params.method, session.data.split.sizes.learn),
      task,
    );
    report.seconds = (performance.now() - session.started) / 1000;
    return report;
  } finally {
    closeSession(session);
  }
}
