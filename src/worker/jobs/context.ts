import type { CancellationToken } from "vscode-jsonrpc";
import type { LogParams, ProgressParams } from "../../protocol/worker.js";

/** What every job gets from the worker: cancellation, and the two notifications. */
export interface JobContext {
  token: CancellationToken;
  progress(p: ProgressParams): void;
  log(level: LogParams["level"], message: string): void;
}

export function isCancelled(context: JobContext): () => boolean {
  return () => context.token.isCancellationRequested;
}
