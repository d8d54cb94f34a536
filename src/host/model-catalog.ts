/**
 * The workspace's models: found with vscode.workspace.findFiles, filtered (core/io/model-candidates.ts), read and
 * grouped by the core's manifest readers (no tensor data). Refreshes on file changes, debounced.
 */
import * as vscode from "vscode";
import { analyzeModels, type Analysis } from "../core/architecture/index.js";
import { findMerges, type MergeInfo } from "./merges.js";
import { MODEL_GLOB, modelCandidates } from "../core/io/model-candidates.js";
import { scanExclude } from "./settings.js";

const EMPTY: Analysis = { models: [], groups: [], incompatible: [], unreadable: [] };
const DEBOUNCE_MS = 400;

export class ModelCatalog implements vscode.Disposable {
  private current: Analysis = EMPTY;
  private currentMerges: ReadonlyMap<string, MergeInfo> = new Map();
  private scanning: Promise<Analysis> | undefined;
  private rescanRequested = false;
  private scannedOnce = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly changed = new vscode.EventEmitter<Analysis>();
  private readonly disposables: vscode.Disposable[] = [this.changed];
  readonly onDidChange = this.changed.event;

  constructor() {
    const watcher = vscode.workspace.createFileSystemWatcher("**/*.{json,keras,h5,hdf5,safetensors,bin,pt,pth,ckpt}");
    const later = () => this.refreshSoon();
    this.disposables.push(watcher, watcher.onDidCreate(later), watcher.onDidChange(later), watcher.onDidDelete(later));
    this.disposables.push(vscode.workspace.onDidChangeWorkspaceFolders(later));
  }

  get analysis(): Analysis {
    return this.current;
  }

  /** The listed models that are merges Model Soup wrote (by their recipe), by path. */
  get merges(): ReadonlyMap<string, MergeInfo> {
    return this.currentMerges;
  }

  /** The last finished scan, or the running one. */
  ready(): Promise<Analysis> {
    return this.scanning ?? Promise.resolve(this.current);
  }

  refreshSoon(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), DEBOUNCE_MS);
  }

  /** Scans now; a change during a scan queues one more scan after it. */
  refresh(): Promise<Analysis> {
    if (this.scanning) {
      this.rescanRequested = true;
      return this.scanning;
    }
    this.scanning = this.scan().finally(() => {
      this.scanning = undefined;
      if (!this.scannedOnce) {
        this.scannedOnce = true;
        // Until the first scan ends (failed too), the empty Model Explorer says "Scanning…", not "No models found"
        // (package.json viewsWelcome). An unset key reads false, so that holds before activation as well.
        void vscode.commands.executeCommand("setContext", "modelSoup.scanned", true);
      }
      if (this.rescanRequested) {
        this.rescanRequested = false;
        void this.refresh();
      }
    });
    return this.scanning;
  }

  private async scan(): Promise<Analysis> {
    const uris = await vscode.workspace.findFiles(MODEL_GLOB, scanExclude());
    const paths = await modelCandidates(uris.filter((u) => u.scheme === "file").map((u) => u.fsPath));
    const analysis = await analyzeModels(paths);
    this.currentMerges = await findMerges(analysis.models.map((m) => m.path));
    this.current = analysis;
    const files = analysis.models.map((m) => m.path).concat(analysis.unreadable.map((u) => u.path));
    // The model files' Explorer menus offer the viewer and the merge (package.json's `when` clauses). Folders need
    // no key: "Merge Models in Folder" is offered on every folder, before any scan.
    await vscode.commands.executeCommand("setContext", "modelSoup.modelFiles", files);
    // "No models found" (package.json viewsWelcome) only after a scan that found none: keyed on the scan's result,
    // not on the tree, which is empty for a moment after every scan until its items arrive.
    await vscode.commands.executeCommand("setContext", "modelSoup.noModels", files.length === 0);
    this.changed.fire(this.current);
    return this.current;
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}
