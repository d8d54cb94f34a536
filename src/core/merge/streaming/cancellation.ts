import { CancelledError } from "../../errors.js";

/** An AbortSignal, or anything shaped like VS Code's / vscode-jsonrpc's CancellationToken. */
export type Cancellation = AbortSignal | { readonly isCancellationRequested: boolean };

export function isCancelled(cancellation: Cancellation | undefined): boolean {
  if (!cancellation) return false;
  return "aborted" in cancellation ? cancellation.aborted : cancellation.isCancellationRequested;
}

export function throwIfCancelled(cancellation: Cancellation | undefined): void {
  if (isCancelled(cancellation)) throw new CancelledError("Merge cancelled; no output was written");
}
