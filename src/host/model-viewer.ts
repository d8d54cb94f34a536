/**
 * The model viewer: a read-only custom editor for model files (.h5, .hdf5, .keras, .safetensors, .pt, .pth, .ckpt by default;
 * TF.js model.json and *.safetensors.index.json through "Open With…"). It opens from the file's headers alone
 * (no tensor data, so a large file opens at once); tensor statistics are computed in the worker when asked.
 */
import * as vscode from "vscode";
import { stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { readManifest } from "../core/formats/registry.js";
import { validateFromViewer, type FromViewer, type ToViewer, type ViewerInit } from "../protocol/viewer.js";
import { WorkerRequests, type TensorDistributionLine } from "../protocol/worker.js";
import type { ModelCatalog } from "./model-catalog.js";
import type { ModelTreeProvider } from "./model-tree.js";
import { panelHtml } from "./panel-html.js";
import { viewerInit } from "./viewer-model.js";
import type { WorkerManager } from "./worker-manager.js";

/** Binary model files open in the viewer by default. */
export const VIEWER_VIEW_TYPE = "modelSoup.modelViewer";
/** JSON model files (TF.js model.json, safetensors shard index) offer it under "Open With…". */
export const VIEWER_JSON_VIEW_TYPE = "modelSoup.modelViewerJson";

export function viewerTypeFor(path: string): string {
  return path.toLowerCase().endsWith(".json") ? VIEWER_JSON_VIEW_TYPE : VIEWER_VIEW_TYPE;
}

export interface ViewerServices {
  extensionUri: vscode.Uri;
  worker: WorkerManager;
  catalog: ModelCatalog;
  tree: ModelTreeProvider;
  output: vscode.LogOutputChannel;
}

/** One open viewer (exposed to the VS Code tests through the extension's API). */
export class ModelViewer {
  static readonly open = new Set<ModelViewer>();
  private markReady!: () => void;
  readonly whenReady = new Promise<void>((resolve) => (this.markReady = resolve));
  /** What the viewer was sent, once it asked for it. */
  init: ViewerInit | undefined;
  /** The last statistics computed for it. */
  stats: TensorDistributionLine[] | undefined;

  constructor(
    readonly uri: vscode.Uri,
    readonly panel: vscode.WebviewPanel,
    private readonly services: ViewerServices,
  ) {}

  post(message: ToViewer): Thenable<boolean> {
    return this.panel.webview.postMessage(message);
  }

  async handle(message: FromViewer): Promise<void> {
    switch (message.type) {
      case "ready":
        this.init = await this.load();
        await this.post({ type: "init", init: this.init });
        this.markReady();
        return;
      case "computeStats":
        if (!vscode.workspace.isTrusted) {
          await this.post({
            type: "statsFailed",
            message: "Statistics are computed in the worker process, which needs a trusted workspace.",
          });
          return;
        }
        try {
          const result = await this.services.worker.request(WorkerRequests.tensorStats, {
            model: this.uri.fsPath,
            ...(message.tensors ? { tensors: message.tensors } : {}),
          });
          this.stats = result.tensors;
          await this.post({ type: "stats", tensors: result.tensors });
        } catch (error) {
          await this.post({ type: "statsFailed", message: error instanceof Error ? error.message : String(error) });
        }
        return;
      case "mergeWith": {
        const group = this.init?.group;
        if (group?.mergeable) await vscode.commands.executeCommand("modelSoup.mergeModels", group.models);
        else if (this.init?.alone)
          // Groups are made by architecture: one without a partner can join none of them.
          void vscode.window.showInformationMessage(
            `No group of the workspace can take ${this.panel.title}: ${this.init.alone}.`,
          );
        else await vscode.commands.executeCommand("modelSoup.mergeModels");
        return;
      }
      case "compareWith":
        await vscode.commands.executeCommand("modelSoup.compareModels", this.uri.fsPath);
        return;
    }
  }

  private async load(): Promise<ViewerInit> {
    const path = this.uri.fsPath;
    try {
      const manifest = await readManifest(path);
      const sizes = await Promise.all(
        manifest.files.map((f) =>
          stat(f).then(
            (s) => s.size,
            () => 0,
          ),
        ),
      );
      const analyzed = this.services.catalog.analysis.models.find((m) => m.path === path);
      const alone = this.services.tree.groups
        .find((g) => g.id === "incompatible")
        ?.children.find((c) => c.path === path)?.problem;
      return viewerInit(
        manifest,
        sizes.reduce((a, b) => a + b, 0),
        this.groupOf(path),
        { ...(alone ? { alone } : {}), ...(analyzed?.mapping ? { mapping: analyzed.mapping } : {}) },
      );
    } catch (error) {
      return {
        path,
        fileName: path.split(/[\\/]/).pop()!,
        format: "",
        parameters: 0,
        bytes: 0,
        files: [],
        architectureName: "",
        layers: [],
        tensors: [],
        metadata: [],
        warnings: [],
        error: error instanceof Error ? error.message : String(error),
      };
    }
  }

  /** The Model Explorer group that holds this model (as an ingredient or as a merge). */
  private groupOf(path: string): ViewerInit["group"] {
    for (const group of this.services.tree.groups) {
      // "No compatible partner" and "Unreadable" list models, they are not groups a model belongs to.
      if (!group.architecture) continue;
      const merge = group.merges.find((m) => m.path === path);
      if (group.children.some((c) => c.path === path) || merge) {
        const models = group.children.map((c) => c.path);
        return {
          label: group.name,
          models,
          mergeable: group.mergeable,
          ...(this.services.catalog.analysis.models.find((m) => m.path === path)?.status === "compatible-by-structure"
            ? { matchedTo: group.children[0]?.label ?? "" }
            : {}),
          ...(merge?.merge
            ? { merge: { origin: merge.merge.origin, ingredients: merge.merge.ingredients.map((i) => i.label) } }
            : {}),
        };
      }
    }
    return undefined;
  }
}

export class ModelViewerProvider implements vscode.CustomReadonlyEditorProvider {
  constructor(private readonly services: ViewerServices) {}

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => undefined };
  }

  async resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): Promise<void> {
    const { extensionUri, output } = this.services;
    panel.webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, "dist"), vscode.Uri.joinPath(extensionUri, "media")],
    };
    panel.webview.html = panelHtml(panel.webview, extensionUri, {
      title: "Model",
      rootId: "model-soup-viewer",
      script: "viewer.js",
    });
    panel.title = viewerTitle(document.uri.fsPath);
    const viewer = new ModelViewer(document.uri, panel, this.services);
    ModelViewer.open.add(viewer);
    panel.onDidDispose(() => ModelViewer.open.delete(viewer));
    panel.webview.onDidReceiveMessage(async (raw: unknown) => {
      const message = validateFromViewer(raw);
      if (message instanceof Error) return output.error(message.message);
      try {
        await viewer.handle(message);
      } catch (error) {
        output.error(error instanceof Error ? error.message : String(error));
      }
    });
  }
}

/** A viewer tab's title: a TF.js model.json (every one has that name) by its folder, other files by their name. */
export function viewerTitle(path: string): string {
  const name = basename(path);
  return /^model\.json$/i.test(name) ? basename(dirname(path)) : name;
}

/** Opens a model file in the viewer ("Inspect", clicks in the Model Explorer). */
export async function openInViewer(path: string): Promise<void> {
  await vscode.commands.executeCommand("vscode.openWith", vscode.Uri.file(path), viewerTypeFor(path), {
    preview: true,
  });
}
