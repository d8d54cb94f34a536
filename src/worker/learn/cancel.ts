import { CancelledError } from "../../core/errors.js";

/** A function that answers "stop now?", or a token like vscode-jsonrpc's CancellationToken. */
export type Cancellation = (() => boolean) | { readonly isCancellationRequested: boolean };

export function throwIfCancelled(cancel: Cancellation | undefined): void {
  if (cancel === undefined) return;
  const requested = typeof cancel === "function" ? cancel() : cancel.isCancellationRequested;
  if (requested) throw new CancelledError("Learning was cancelled");
}
