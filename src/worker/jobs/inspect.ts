/** Reads model headers and reports formats, tensors and compatibility (no tensor data is read). */
import { analyzeModels } from "../../core/architecture/analyze.js";
import { inspectJson } from "../../core/architecture/report.js";
import type { JobContext } from "./context.js";

export async function runInspect(params: { paths: string[] }, context: JobContext): Promise<unknown> {
  void context;
  return inspectJson(await analyzeModels(params.paths));
}
