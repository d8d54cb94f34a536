/** The extension's entry point: wires the Model Explorer, commands, the Merge panel, the diff and the worker. */
import * as vscode from "vscode";
import { WorkerRequests } from "../protocol/worker.js";
import { applyRecipeFile, type ApplyOutcome, type Confirm } from "./apply-recipe.js";
import { registerCommands } from "./commands.js";
import { JobStatus } from "./job-progress.js";
import { LayerStatsProvider, LAYERS_SCHEME } from "./layer-diff.js";
import { UnitMovesProvider, UNITS_SCHEME } from "./unit-moves-view.js";
import { CompareView } from "./compare-view.js";
import { MergePanel, MergePanelSerializer, PANEL_VIEW_TYPE, type PanelServices } from "./merge-panel.js";
import { ModelCatalog } from "./model-catalog.js";
import { ModelTreeProvider } from "./model-tree.js";
import { ModelViewer, ModelViewerProvider, VIEWER_JSON_VIEW_TYPE, VIEWER_VIEW_TYPE } from "./model-viewer.js";
import { WorkerManager } from "./worker-manager.js";

/** What activate() returns: used by the VS Code tests to look inside. */
export interface ModelSoupApi {
  catalog: ModelCatalog;
  tree: ModelTreeProvider;
  worker: WorkerManager;
  panels(): MergePanel[];
  /** The open model viewers. */
  viewers(): ModelViewer[];
  /** The open Compare Models views. */
  compareViews(): CompareView[];
  /** Starts the worker if needed and asks which TensorFlow.js backend it runs. */
  workerBackend(): Promise<{ backend: string; notes: string[] }>;
  activationMs: number;
  /** Apply Recipe with `confirm` in place of the modal question (the tests answer it). */
  applyRecipe(recipe: string, confirm: Confirm): Promise<ApplyOutcome | undefined>;
}

export async function activate(context: vscode.ExtensionContext): Promise<ModelSoupApi> {
  const started = performance.now();
  const output = vscode.window.createOutputChannel("Model Soup", { log: true });
  const worker = new WorkerManager(vscode.Uri.joinPath(context.extensionUri, "dist", "worker.cjs").fsPath, output);
  const jobs = new JobStatus();
  const catalog = new ModelCatalog();
  const tree = new ModelTreeProvider(catalog);
  const services: PanelServices = { extensionUri: context.extensionUri, worker, jobs, output };
  const viewer = new ModelViewerProvider({ extensionUri: context.extensionUri, worker, catalog, tree, output });
  const treeView = vscode.window.createTreeView("modelSoup.models", {
    treeDataProvider: tree,
    canSelectMany: true,
    showCollapseAll: true,
  });
  context.subscriptions.push(
    output,
    worker,
    jobs,
    catalog,
    tree,
    treeView,
    ...[VIEWER_VIEW_TYPE, VIEWER_JSON_VIEW_TYPE].map((viewType) =>
      vscode.window.registerCustomEditorProvider(viewType, viewer, { supportsMultipleEditorsPerDocument: true }),
    ),
    vscode.workspace.registerTextDocumentContentProvider(LAYERS_SCHEME, new LayerStatsProvider(worker)),
    vscode.workspace.registerTextDocumentContentProvider(UNITS_SCHEME, new UnitMovesProvider()),
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, new MergePanelSerializer(services)),
    ...registerCommands({ services, catalog, tree }),
    { dispose: () => [...MergePanel.open].forEach((p) => p.dispose()) },
    // "Compare Models" is on the Model Explorer's context menu when exactly two models are selected.
    treeView.onDidChangeSelection(
      (e) =>
        void vscode.commands.executeCommand(
          "setContext",
          "modelSoup.twoModelsSelected",
          e.selection.filter((n) => n.kind === "model").length === 2,
        ),
    ),
    { dispose: () => [...CompareView.open].forEach((v) => v.dispose()) },
  );
  // The first scan runs after activation returns, so activation stays cheap; the Model Explorer shows its progress.
  setTimeout(
    () =>
      void vscode.window
        .withProgress({ location: { viewId: "modelSoup.models" } }, () => catalog.refresh())
        .then(undefined, (e: unknown) => output.error(String(e))),
    0,
  );
  const activationMs = performance.now() - started;
  output.info(`Activated in ${activationMs.toFixed(1)} ms`);
  return {
    catalog,
    tree,
    worker,
    panels: () => [...MergePanel.open],
    viewers: () => [...ModelViewer.open],
    compareViews: () => [...CompareView.open],
    workerBackend: () => worker.request(WorkerRequests.backend, {}),
    activationMs,
    applyRecipe: (recipe, confirm) => applyRecipeFile({ worker, jobs }, recipe, confirm),
  };
}

export function deactivate(): void {}
