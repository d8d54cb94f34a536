import type { ProgressParams } from "../protocol/worker.js";

/**
 * How often the panel hears of progress at most. A learned merge of a small model reports a hundred steps a
 * second or more; one message per step made the extension host relay, and the panel redraw its charts, a
 * hundred times a second, for curves nobody can read that fast.
 */
export const PROGRESS_INTERVAL_MS = 100;

/**
 * Progress notifications gathered and handed on together: the first one starts a timer, and everything that
 * arrived until it fires goes out as one batch, in order. `flush` hands on what waits now (before a message
 * that must follow it, such as the result).
 */
export class ProgressBatches {
  private items: ProgressParams[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly send: (items: ProgressParams[]) => void,
    private readonly intervalMs = PROGRESS_INTERVAL_MS,
  ) {}

  push(progress: ProgressParams): void {
    this.items.push(progress);
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    this.send(items);
  }

  /** Drops what waits (the panel is gone). */
  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.items = [];
  }
}
