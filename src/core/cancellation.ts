import { CancelledError } from "./errors.js";

/**
 * A request to stop, polled between steps. vscode-jsonrpc's and VS Code's CancellationToken have this shape, so
 * a job passes its request's token as is; core does not import either library.
 */
export interface Cancellation {
  readonly isCancellationRequested: boolean;
}

/** Throws CancelledError with `message` if a stop was asked for. */
export function throwIfCancelled(cancel: Cancellation | undefined, message = "Cancelled"): void {
  if (cancel?.isCancellationRequested) throw new CancelledError(message);
}
