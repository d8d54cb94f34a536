/** Writing a soup job's merged model and its recipe, then checking the written file (verify.ts). */
import { dataRecord } from "../../../core/recipe/data-record.js";
import { dataProtection } from "../../../core/soup/output.js";
import { saveSoup, type SaveSoupOptions } from "../../../core/soup/save.js";
import type { DataSpec, RecipeRecord, SoupReport } from "../../../protocol/worker.js";
import type { JobContext } from "../../../core/job-context.js";
import type { BatchNormStatistics } from "../../learn/batchnorm.js";
import type { Task } from "../../learn/loss.js";
import type { WeightBinding } from "../../runtime/index.js";
import type { AlignmentOutcome } from "../../align/align-problem.js";
import type { JobData } from "./data.js";
import type { LoadedProblem } from "./problem.js";
import { entropyTask } from "./report.js";
import { writtenSoupCheck } from "./verify.js";

/** Re-estimated BatchNormalization statistics as the recipe's overrides: tensor name → values. */
export function batchNormOverrides(
  bindings: readonly WeightBinding[],
  statistics: BatchNormStatistics | undefined,
): Record<string, number[]> {
  if (statistics === undefined) return {};
  const out: Record<string, number[]> = {};
  statistics.variables.forEach((v, k) => {
    const b = bindings.find((binding) => binding.variable === v);
    if (b === undefined) throw new Error(`BatchNormalization statistic ${v.name} is bound to no tensor of the model`);
    out[b.tensor] = Array.from(statistics.values[k]!);
  });
  return out;
}

/** What every soup job has open while it writes: the models, the data, the backend, an alignment. */
export interface WriteSession {
  readonly backend: string;
  readonly loaded: LoadedProblem;
  readonly data: JobData;
  readonly alignment?: AlignmentOutcome;
}

/** The recipe record of a soup a job made: its origin and learning, the data, the report's metrics, the backend. */
export async function soupRecord(
  report: { metricName: string; metrics: object },
  session: WriteSession,
  data: DataSpec,
  what: Pick<SaveSoupOptions, "origin" | "learning" | "overrides">,
  task?: Task,
): Promise<RecipeRecord> {
  return {
    origin: what.origin,
    ...(what.learning !== undefined ? { learning: what.learning } : {}),
    data: await dataRecord(data, session.data.split, task?.loss.name),
    metrics: { metricName: report.metricName, ...report.metrics },
    backend: session.backend,
    ...(what.overrides !== undefined && Object.keys(what.overrides).length > 0 ? { overrides: what.overrides } : {}),
  };
}

/**
 * Sets report.record; with an output, writes the soup and its recipe from it, notes the output in the report, and
 * checks the written file against the report (verify.ts) with `task` on the test split (by the mean prediction
 * entropy when the report is label-free: `task` is then the entropy objective's), before the output lock is released.
 */
export async function writeSoup(
  report: SoupReport,
  session: WriteSession,
  params: { data: DataSpec; out?: string; jobId?: string },
  context: JobContext,
  what: Pick<SaveSoupOptions, "spec" | "origin" | "learning" | "overrides" | "statistics">,
  task: Task | undefined,
): Promise<void> {
  const record = await soupRecord(report, session, params.data, what, task);
  report.record = record;
  if (params.out === undefined) return;
  context.progress({
    jobId: params.jobId,
    phase: "writing",
    step: 0,
    totalSteps: 0,
    message: "Writing the merged model",
  });
  // A label-free report (learn's entropy objective) was judged by the entropy of its predictions, so is its file.
  const judge = report.metricName === "entropy" ? entropyTask(session.loaded, session.data) : task;
  const check = writtenSoupCheck(report, session.loaded, session.data.test, judge, context.token);
  const saved = await saveSoup({
    spec: what.spec,
    origin: record.origin,
    ...(record.learning !== undefined ? { learning: record.learning } : {}),
    ...(record.overrides !== undefined ? { overrides: record.overrides } : {}),
    ...(what.statistics !== undefined ? { statistics: what.statistics } : {}),
    ...(session.alignment ? { alignment: session.alignment.recipe } : {}),
    target: params.out,
    protect: [dataProtection(params.data.path), ...(params.data.test ? [dataProtection(params.data.test)] : [])],
    data: record.data,
    ...(session.loaded.architecture !== undefined ? { architecture: session.loaded.architecture } : {}),
    metrics: record.metrics,
    backend: record.backend,
    cancel: context.token,
    ...(check !== undefined
      ? {
          check: (written, metrics) => {
            context.progress({
              jobId: params.jobId,
              phase: "evaluating",
              step: 0,
              totalSteps: 0,
              message: "Scoring the written model on the test split",
            });
            return check(written, metrics);
          },
        }
      : {}),
  });
  report.output = { model: saved.model, recipe: saved.recipe };
  report.warnings.push(...saved.warnings.filter((w) => !report.warnings.includes(w)));
}
