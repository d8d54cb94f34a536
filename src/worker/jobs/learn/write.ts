/** Writing a soup job's merged model and its recipe. */
import { dirname } from "node:path";
import { resolveOutputTarget } from "../../../core/io/output-target.js";
import { dataProtection } from "../../../core/soup/output.js";
import { saveSoup, type SaveSoupOptions } from "../../../core/soup/save.js";
import type { LearnParams, SoupReport } from "../../../protocol/worker.js";
import type { JobContext } from "../../../core/job-context.js";
import { type Prepared, dataRecord } from "./prepare.js";

/** Writes the soup and its recipe (with the data and the report's metrics), and notes the output in the report. */
export async function writeSoup(
  report: SoupReport,
  prepared: Prepared,
  params: { data: LearnParams["data"]; out?: string; jobId?: string },
  context: JobContext,
  what: Pick<SaveSoupOptions, "spec" | "origin" | "learning" | "overrides">,
): Promise<void> {
  context.progress({
    jobId: params.jobId,
    phase: "writing",
    step: 0,
    totalSteps: 0,
    message: "Writing the merged model",
  });
  const saved = await saveSoup({
    ...what,
    ...(prepared.alignment ? { alignment: prepared.alignment.recipe } : {}),
    target: params.out!,
    protect: [dataProtection(params.data.path), ...(params.data.test ? [dataProtection(params.data.test)] : [])],
    data: await dataRecord(
      params.data,
      prepared.data,
      dirname((await resolveOutputTarget(params.out!, prepared.loaded.manifest.path)).recipe),
    ),
    ...(prepared.loaded.architecture !== undefined ? { architecture: prepared.loaded.architecture } : {}),
    metrics: { metricName: report.metricName, ...report.metrics },
    backend: prepared.backend,
    cancel: context.token,
  });
  report.output = { model: saved.model, recipe: saved.recipe };
  report.warnings.push(...saved.warnings.filter((w) => !report.warnings.includes(w)));
}
