/** The extension's entry point: wires the Model Explorer, commands, the Merge panel, the diff and the worker. */
import * as vscode from "vscode";
import { WorkerRequests } from "../protocol/worker.js";
import { registerCommands } from "./commands.js";
import { InspectProvider, INSPECT_SCHEME } from "./inspect.js";
import { JobStatus } from "./job-progress.js";
import { LayerStatsProvider, LAYERS_SCHEME } from "./layer-diff.js";
import { MergePanel, MergePanelSerializer, PANEL_VIEW_TYPE, type PanelServices } from "./merge-panel.js";
import { ModelCatalog } from "./model-catalog.js";
import { ModelTreeProvider } from "./model-tree.js";
import { WorkerManager } from "./worker-manager.js";

/** What activate() returns: used by the VS Code tests to look inside. */
export interface ModelSoupApi {
  catalog: ModelCatalog;
  tree: ModelTreeProvider;
  worker: WorkerManager;
  panels(): MergePanel[];
  /** Starts the worker if needed and asks which TensorFlow.js backend it runs. */
  workerBackend(): Promise<{ backend: string; notes: string[] }>;
  activationMs: number;
}

export async function activate(context: vscode.ExtensionContext): Promise<ModelSoupApi> {
  const started = performance.now();
  const output = vscode.window.createOutputChannel("Model Soup", { log: true });
  const worker = new WorkerManager(vscode.Uri.joinPath(context.extensionUri, "dist", "worker.cjs").fsPath, output);
  const jobs = new JobStatus();
  const catalog = new ModelCatalog();
  const tree = new ModelTreeProvider(catalog);
  const services: PanelServices = { extensionUri: context.extensionUri, worker, jobs, output };
  const treeView = vscode.window.createTreeView("modelSoup.models", { treeDataProvider: tree, canSelectMany: true, showCollapseAll: true });
  context.subscriptions.push(
    output,
    worker,
    jobs,
    catalog,
    tree,
    treeView,
    vscode.workspace.registerTextDocumentContentProvider(INSPECT_SCHEME, new InspectProvider()),
    vscode.workspace.registerTextDocumentContentProvider(LAYERS_SCHEME, new LayerStatsProvider(worker)),
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, new MergePanelSerializer(services)),
    ...registerCommands({ services, catalog, tree }),
    { dispose: () => [...MergePanel.open].forEach((p) => p.dispose()) },
  );
  // The first scan runs after activation returns, so activation stays cheap.
  setTimeout(() => void catalog.refresh().catch((e: unknown) => output.error(String(e))), 0);
  const activationMs = performance.now() - started;
  output.info(`Activated in ${activationMs.toFixed(1)} ms`);
  return {
    catalog,
    tree,
    worker,
    panels: () => [...MergePanel.open],
    workerBackend: () => worker.request(WorkerRequests.backend, {}),
    activationMs,
  };
}

export function deactivate(): void {}
