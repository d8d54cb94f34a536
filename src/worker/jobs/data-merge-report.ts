/** The report of `merge --method regmean|fisher|regmean_plusplus --data`, one builder for both engines' jobs. */
import type { JobContext } from "../../core/job-context.js";
import type { DataAwareMethod, MetricPair, SoupReport, SplitReport } from "../../protocol/worker.js";
import { METHOD_NAMES } from "./session/data-aware-merge.js";

/** The references a data-aware merge is judged against on the test split (by the labels, or by the entropy). */
export interface DataMergeReferences {
  metricName: SoupReport["metricName"];
  ingredients: MetricPair[];
  uniform: MetricPair;
  ensemble: MetricPair;
  classCounts?: number[];
}

export function evaluatingOnTest(context: JobContext, jobId: string | undefined): void {
  context.progress({ jobId, phase: "evaluating", step: 0, totalSteps: 0, message: "Evaluating on the test split" });
}

/** The merge beside each ingredient, the uniform soup and the ensemble; `seconds` is set once the file is written. */
export function dataMergeReport(
  params: { method: DataAwareMethod; models: readonly string[] },
  fields: { backend: string; refs: DataMergeReferences; merged: MetricPair; split: SplitReport; warnings: string[] },
): SoupReport {
  const { refs } = fields;
  return {
    backend: fields.backend,
    method: METHOD_NAMES[params.method],
    coefficients: [],
    metricName: refs.metricName,
    metrics: {
      ingredients: params.models.map((model, i) => ({ model, ...refs.ingredients[i]! })),
      uniform: refs.uniform,
      merged: fields.merged,
      ensemble: refs.ensemble,
    },
    mergeability: [],
    split: fields.split,
    ...(refs.classCounts !== undefined ? { testClassCounts: refs.classCounts } : {}),
    warnings: fields.warnings,
    seconds: 0,
  };
}
