import type { Cancellation } from "./cancellation.js";
import type { LogParams, ProgressParams } from "../protocol/worker.js";

/**
 * What every job gets from whoever runs it (the worker, or the CLI for a job that needs no TensorFlow.js):
 * cancellation, and the two notifications.
 */
export interface JobContext {
  /** The request's vscode-jsonrpc CancellationToken in the worker; the CLI's own token in process. */
  token: Cancellation;
  progress(p: ProgressParams): void;
  log(level: LogParams["level"], message: string): void;
}
