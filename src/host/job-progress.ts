/**
 * Mirrors a running job in a cancellable window.withProgress notification and a status bar item, both fed
 * by the worker's progress notifications for that job.
 */
import * as vscode from "vscode";
import type { ProgressParams } from "../protocol/worker.js";

export function describeProgress(p: ProgressParams): string {
  const step = p.totalSteps > 0 ? ` ${p.step}/${p.totalSteps}` : "";
  const loss = p.validationLoss !== undefined ? ` · val loss ${p.validationLoss.toFixed(4)}` : p.trainLoss !== undefined ? ` · loss ${p.trainLoss.toFixed(4)}` : "";
  return `${p.phase}${step}${loss}${p.message ? ` · ${p.message}` : ""}`;
}

export class JobStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("modelSoup.job", vscode.StatusBarAlignment.Left, 10);
  private running = 0;

  constructor() {
    this.item.name = "Model Soup job";
  }

  /**
   * Runs `work` with a cancellable progress notification and the status bar item showing its progress.
   * `subscribe` hands the caller a function to call with each progress notification of this job.
   */
  async run<T>(
    title: string,
    work: (token: vscode.CancellationToken, report: (p: ProgressParams) => void) => Promise<T>,
    external?: vscode.CancellationToken,
  ): Promise<T> {
    this.running++;
    this.item.text = `$(loading~spin) Model Soup: ${title}`;
    this.item.tooltip = `${title} — click to show the Model Soup output`;
    this.item.command = "modelSoup.showOutput";
    this.item.show();
    try {
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Model Soup: ${title}`, cancellable: true },
        async (progress, token) => {
          const source = new vscode.CancellationTokenSource();
          const links = [token.onCancellationRequested(() => source.cancel()), external?.onCancellationRequested(() => source.cancel())];
          let lastFraction = 0;
          const report = (p: ProgressParams) => {
            const text = describeProgress(p);
            this.item.text = `$(loading~spin) Model Soup: ${text}`;
            const fraction = p.totalSteps > 0 ? Math.min(1, p.step / p.totalSteps) : lastFraction;
            progress.report({ message: text, increment: Math.max(0, (fraction - lastFraction) * 100) });
            lastFraction = fraction;
          };
          try {
            return await work(source.token, report);
          } finally {
            for (const l of links) l?.dispose();
            source.dispose();
          }
        },
      );
    } finally {
      if (--this.running === 0) this.item.hide();
    }
  }

  dispose(): void {
    this.item.dispose();
  }
}
