/**
 * Shows a running job's progress in ONE place: the Merge panel while it is visible, otherwise a cancellable
 * notification (opened when the job starts without a visible panel, or when the panel is hidden mid-job).
 * A job cancelled from either place ends with a vscode.CancellationError, never an error message.
 */
import * as vscode from "vscode";
import type { ProgressParams } from "../protocol/worker.js";
import { describeProgress } from "./progress-text.js";

export class JobStatus implements vscode.Disposable {
  /**
   * Runs `work`; `report` takes the job's progress notifications. With a `panel`, progress shows there while it
   * is visible and in a notification only when it is not. `external` cancels too (the panel's Cancel button).
   */
  async run<T>(
    title: string,
    work: (token: vscode.CancellationToken, report: (p: ProgressParams) => void) => Promise<T>,
    external?: vscode.CancellationToken,
    panel?: vscode.WebviewPanel,
  ): Promise<T> {
    const source = new vscode.CancellationTokenSource();
    const links: (vscode.Disposable | undefined)[] = [external?.onCancellationRequested(() => source.cancel())];
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    let last: ProgressParams | undefined;
    let notify: ((p: ProgressParams) => void) | undefined;
    const showNotification = () => {
      if (notify) return;
      notify = () => undefined;
      void vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Model Soup: ${title}`, cancellable: true },
        (progress, token) => {
          links.push(token.onCancellationRequested(() => source.cancel()));
          let lastFraction = 0;
          notify = (p) => {
            const fraction = p.totalSteps > 0 ? Math.min(1, p.step / p.totalSteps) : lastFraction;
            progress.report({ message: describeProgress(p), increment: Math.max(0, (fraction - lastFraction) * 100) });
            lastFraction = fraction;
          };
          if (last) notify(last);
          return finished;
        },
      );
    };
    if (!panel?.visible) showNotification();
    if (panel) links.push(panel.onDidChangeViewState(() => !panel.visible && showNotification()));
    try {
      return await work(source.token, (p) => {
        last = p;
        notify?.(p);
      });
    } catch (error) {
      if (source.token.isCancellationRequested) throw new vscode.CancellationError();
      throw error;
    } finally {
      finish();
      for (const l of links) l?.dispose();
      source.dispose();
    }
  }

  dispose(): void {}
}
