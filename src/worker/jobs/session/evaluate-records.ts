/**
 * The recipe records an `evaluate` report carries, for a client that saves one of its soups (the panel's save):
 * the uniform soup as it was scored (averaged or re-estimated BatchNormalization statistics, the latter as
 * overrides) and, with given weights, the weighted soup. One builder for both engines; each gives its own record.
 */
import type { SaveSoupOptions } from "../../../core/soup/save.js";
import type { EvaluateReport, MetricPair, RecipeRecord } from "../../../protocol/worker.js";

/** Builds one record from the report's figures (the soup's own as `merged`) and what the soup is. */
export type RecordOf = (
  report: { metricName: string; metrics: object },
  what: Pick<SaveSoupOptions, "origin" | "learning" | "overrides">,
) => Promise<RecipeRecord>;

export async function evaluateRecords(
  report: EvaluateReport,
  uniform: { readonly reestimated: boolean; readonly overrides: Record<string, number[]> },
  record: RecordOf,
): Promise<NonNullable<EvaluateReport["records"]>> {
  const figures = (merged: MetricPair) => ({ metricName: report.metricName, metrics: { ...report.metrics, merged } });
  const merged = report.metrics.merged;
  return {
    uniform: await record(figures(report.metrics.uniform), {
      origin: "uniform",
      learning: { batchNorm: uniform.reestimated ? "re-estimated" : "averaged" },
      overrides: uniform.overrides,
    }),
    ...(merged !== undefined ? { merged: await record(figures(merged), { origin: "manual" }) } : {}),
  };
}
