import { throwIfCancelled, type Cancellation } from "../../core/cancellation.js";

/**
 * Lets the event loop run one turn. A macrotask (setImmediate), not a microtask: only a turn of the loop reads the
 * IPC channel, where a `$/cancelRequest` flips the job's token, and flushes the progress notifications sent so far.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** Called before each step or batch of a long loop: yields, then throws CancelledError if a stop was asked for. */
export async function nextStep(cancel: Cancellation | undefined): Promise<void> {
  await yieldToEventLoop();
  throwIfCancelled(cancel, "Learning was cancelled");
}
