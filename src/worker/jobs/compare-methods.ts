/** The rows of `evaluate --methods`, one loop for both engines' jobs: each method scored in turn, with its progress. */
import type { JobContext } from "../../core/job-context.js";
import type { BaseMethod, ComparedMethod } from "../../protocol/choices.js";
import type { DataAwareMethod, MethodMetric, MetricPair } from "../../protocol/worker.js";
import { isBaseMethod, METHOD_NAMES } from "./session/data-aware-merge.js";

/** How an engine's job scores each kind of method on the test split. */
export interface MethodScorers {
  greedy(): Promise<MetricPair>;
  learned(): Promise<MetricPair>;
  /** A data-free merge of fine-tunes (TSV-M, Iso-C, ...) with its defaults. */
  base(method: BaseMethod): Promise<MetricPair>;
  /** RegMean, Fisher, RegMean++ on the learn split's statistics. */
  dataAware(method: DataAwareMethod): Promise<MetricPair>;
}

/** Every method in the order given, scored by `scorers`: the report's rows, named as reports name them. */
export async function scoreMethods(
  methods: readonly ComparedMethod[],
  scorers: MethodScorers,
  context: JobContext,
  jobId: string | undefined,
): Promise<MethodMetric[]> {
  const rows: MethodMetric[] = [];
  for (const method of methods) {
    context.progress({
      jobId,
      phase: "evaluating",
      step: rows.length,
      totalSteps: methods.length,
      message: METHOD_NAMES[method],
    });
    const score =
      method === "greedy"
        ? await scorers.greedy()
        : method === "learned"
          ? await scorers.learned()
          : isBaseMethod(method)
            ? await scorers.base(method)
            : await scorers.dataAware(method);
    rows.push({ method: METHOD_NAMES[method], ...score });
  }
  return rows;
}
