/** The Compare Models view's numbers: two files read one tensor pair at a time, away from the editor. */
import { compareFilesJob } from "../../core/diff/compare-files.js";
import type { JobContext } from "../../core/job-context.js";
import type { CompareFilesParams, ModelComparison } from "../../protocol/worker.js";

export async function runCompareFiles(params: CompareFilesParams, context: JobContext): Promise<ModelComparison> {
  return compareFilesJob(params, context);
}
