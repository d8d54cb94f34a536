/** Reads model headers and reports formats, tensors and compatibility (no tensor data is read). */
import { analyzeModels } from "../../core/architecture/analyze.js";
import { inspectJson } from "../../core/architecture/report.js";
import { resolveModelArguments } from "../../core/io/model-inputs.js";
import type { JobContext } from "../../core/job-context.js";
import type { InspectReport } from "../../protocol/worker.js";

export async function runInspect(params: { paths: string[] }, context: JobContext): Promise<InspectReport> {
  void context;
  const resolved = await resolveModelArguments(params.paths, { tolerant: true });
  const analysis = await analyzeModels(resolved.models);
  analysis.unreadable.push(...resolved.unreadable);
  return inspectJson(analysis);
}
