/**
 * Shows a running job's progress in ONE place: the Merge panel while it is visible, otherwise a cancellable
 * notification (opened when the job starts without a visible panel, or when the panel is hidden mid-job).
 * A job cancelled from either place ends with a vscode.CancellationError, never an error message.
 */
import * as vscode from "vscode";
import type { ProgressParams } from "../protocol/worker.js";

const PHASES: Record<ProgressParams["phase"], string> = {
  loading: "Loading the models and data",
  learning: "Learning the coefficients",
  evaluating: "Evaluating on the test split",
  writing: "Writing the merged model",
};

/** What runs now, in words: the worker's own message when it sends one, else the phase; then the step and loss. */
export function describeProgress(p: ProgressParams): string {
  const what = p.phase === "learning" ? PHASES.learning : (p.message ?? PHASES[p.phase]);
  const step = p.totalSteps > 0 && p.phase === "learning" ? `: step ${p.step} of ${p.totalSteps}` : p.totalSteps > 0 ? ` (${p.step} of ${p.totalSteps}${p.unit && p.unit !== "steps" ? ` ${p.unit}` : ""})` : "";
  const loss = p.validationLoss !== undefined ? ` · validation loss ${p.validationLoss.toFixed(4)}` : p.trainLoss !== undefined ? ` · loss ${p.trainLoss.toFixed(4)}` : "";
  return `${what}${step}${loss}`;
}

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
      void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Model Soup: ${title}`, cancellable: true }, (progress, token) => {
        links.push(token.onCancellationRequested(() => source.cancel()));
        let lastFraction = 0;
        notify = (p) => {
          const fraction = p.totalSteps > 0 ? Math.min(1, p.step / p.totalSteps) : lastFraction;
          progress.report({ message: describeProgress(p), increment: Math.max(0, (fraction - lastFraction) * 100) });
          lastFraction = fraction;
        };
        if (last) notify(last);
        return finished;
      });
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
