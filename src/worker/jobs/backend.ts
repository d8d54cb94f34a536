/** The backend query: which TensorFlow.js backend the worker would use. */
import type { BackendName } from "../../protocol/worker.js";
import { selectBackend } from "../backend.js";
import type { JobContext } from "../../core/job-context.js";

export async function runBackend(params: { preference?: BackendName }, context: JobContext) {
  const choice = await selectBackend(params.preference);
  void context;
  return { backend: choice.backend, notes: choice.skipped.map((s) => `${s.backend}: ${s.reason}`) };
}
