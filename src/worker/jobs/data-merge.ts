/** The `dataMerge` request: `merge --method regmean|fisher|regmean_plusplus --data`. */
import { UsageError } from "../../core/errors.js";
import type { DataMergeParams, SoupReport } from "../../protocol/worker.js";
import { DATA_AWARE_METHODS, isDataAwareMethod } from "../../protocol/worker.js";
import { writeIngredient } from "../stats/index.js";
import type { JobContext } from "../../core/job-context.js";
import { splitReport as splitSizes } from "./session/data.js";
import { writeSoup } from "./session/write.js";
import { resolveSoupJob } from "../../core/soup/job-inputs.js";

import { closeSession, openSession } from "./session/session.js";
import { torchModelFor } from "./torch/engine-choice.js";
import { runTorchDataMerge } from "./torch/data-merge.js";
import {
  dataAwareMerge,
  dataAwareWrite,
  METHOD_NAMES,
  references,
  scoreCurrent,
  statisticsTask,
} from "./session/data-aware-merge.js";

/** `merge --method regmean|fisher --data`: the merge, its held-out comparison, and (with `out`) the model and recipe. */
export async function runDataMerge(given: DataMergeParams, context: JobContext): Promise<SoupReport> {
  const params = await resolveSoupJob(given);
  if (!isDataAwareMethod(params.method))
    throw new UsageError(
      `"${String(params.method)}" is not a data-aware method; expected ${DATA_AWARE_METHODS.join(", ")}`,
    );
  const torch = await torchModelFor(params.models, params.architecture);
  if (torch !== undefined) return runTorchDataMerge(params, torch, context);
  const session = await openSession(
    {
      models: params.models,
      data: params.data,
      backend: params.backend,
      jobId: params.jobId,
      loss: params.loss,
      architecture: params.architecture,
      // The PyTorch-only options, for the report's line that TensorFlow.js models ran without them.
      python: params.python,
      device: params.device,
      dtype: params.dtype,
      nproc: params.nproc,
      nnodes: params.nnodes,
    },
    context,
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
      dataAwareWrite(merge, params.method, session.data.split.sizes.learn),
      task,
    );
    report.seconds = (performance.now() - session.started) / 1000;
    return report;
  } finally {
    closeSession(session);
  }
}
