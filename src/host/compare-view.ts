/**
 * The Compare Models view: two model files of one architecture side by side, tensor by tensor (relative
 * difference, cosine, largest absolute difference, both histograms over shared bins). The numbers need tensor
 * data, so the worker computes them ("soup/compareFiles"); the host keeps them and sends them again to each page
 * the webview loads (it is not kept alive while hidden).
 */
import * as vscode from "vscode";
import { shortLabels } from "../core/architecture/index.js";
import { validateFromCompare, type CompareInit, type FromCompare, type ToCompare } from "../protocol/compare.js";
import { WorkerRequests } from "../protocol/worker.js";
import { openInViewer } from "./model-viewer.js";
import { panelHtml } from "./panel-html.js";
import { WebviewLink } from "./webview-link.js";
import type { WorkerManager } from "./worker-manager.js";

export const COMPARE_VIEW_TYPE = "modelSoup.compareModels";

export interface CompareServices {
  extensionUri: vscode.Uri;
  worker: WorkerManager;
  output: vscode.LogOutputChannel;
}

/** One open Compare Models view (exposed to the VS Code tests through the extension's API). */
export class CompareView {
  static readonly open = new Set<CompareView>();
  private readonly link: WebviewLink<ToCompare>;
  private cancel = new vscode.CancellationTokenSource();
  init: CompareInit;
  /** Settles when the current comparison has been computed or has failed. */
  computed: Promise<void> = Promise.resolve();

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly services: CompareServices,
    a: string,
    b: string,
  ) {
    this.link = new WebviewLink((m) => panel.webview.postMessage(m));
    this.init = this.sides(a, b);
    panel.webview.onDidReceiveMessage(async (raw: unknown) => {
      const message = validateFromCompare(raw);
      if (message instanceof Error) return services.output.error(message.message);
      await this.handle(message).catch((e: unknown) => services.output.error(String(e)));
    });
    panel.onDidChangeViewState(() => !panel.visible && this.link.lost());
    panel.onDidDispose(() => {
      this.cancel.cancel();
      CompareView.open.delete(this);
    });
  }

  /** Opens (or brings forward) the view of `a` against `b` and starts the comparison. */
  static show(services: CompareServices, a: string, b: string): CompareView {
    const existing = [...CompareView.open].find((v) => v.init.a.path === a && v.init.b.path === b);
    if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(COMPARE_VIEW_TYPE, "Compare Models", vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [
        vscode.Uri.joinPath(services.extensionUri, "dist"),
        vscode.Uri.joinPath(services.extensionUri, "media"),
      ],
    });
    panel.webview.html = panelHtml(panel.webview, services.extensionUri, {
      title: "Compare Models",
      rootId: "model-soup-compare",
      script: "compare.js",
      styles: ["compare.css"],
    });
    const view = new CompareView(panel, services, a, b);
    CompareView.open.add(view);
    view.start();
    return view;
  }

  private sides(a: string, b: string): CompareInit {
    const [labelA, labelB] = a === b ? [a, b].map((p) => vscode.workspace.asRelativePath(p)) : shortLabels([a, b]);
    // The tab tells the two apart: both labels, with "/" drawn as a division slash as the diff documents do.
    this.panel.title = `${labelA} ↔ ${labelB}`.replace(/\//g, "∕");
    return { a: { path: a, label: labelA! }, b: { path: b, label: labelB! }, state: "computing" };
  }

  private start(): void {
    this.cancel.cancel();
    this.cancel = new vscode.CancellationTokenSource();
    const token = this.cancel.token;
    const { a, b } = this.init;
    this.computed = this.services.worker
      .request(WorkerRequests.compareFiles, { a: a.path, b: b.path }, token)
      .then(
        (comparison) => {
          if (!token.isCancellationRequested) this.init = { ...this.init, state: "done", comparison };
        },
        (error: unknown) => {
          if (token.isCancellationRequested) return;
          const text = error instanceof Error ? error.message : String(error);
          this.services.output.error(text);
          this.init = { ...this.init, state: "failed", error: text };
        },
      )
      .then(() => {
        if (!token.isCancellationRequested) void this.link.post({ type: "init", init: this.init });
      });
  }

  private async handle(message: FromCompare): Promise<void> {
    switch (message.type) {
      case "ready":
        this.link.opened();
        await this.link.post({ type: "init", init: this.init });
        return;
      case "swap":
        this.init = this.sides(this.init.b.path, this.init.a.path);
        await this.link.post({ type: "init", init: this.init });
        this.start();
        return;
      case "open":
        await openInViewer(this.init[message.side].path);
        return;
    }
  }

  dispose(): void {
    this.panel.dispose();
  }
}
