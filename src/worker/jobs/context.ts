import type { Cancellation } from "../../core/cancellation.js";
import type { LogParams, ProgressParams } from "../../protocol/worker.js";

/** What every job gets from the worker: cancellation, and the two notifications. */
export interface JobContext {
  /** The request's vscode-jsonrpc CancellationToken. */
  token: Cancellation;
  progress(p: ProgressParams): void;
  log(level: LogParams["level"], message: string): void;
}
