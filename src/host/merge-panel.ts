/**
 * The Merge panel, host side: sends the webview what it shows, validates every message it sends back,
 * runs jobs in the worker (mirrored by JobStatus), saves merged models, opens the per-layer diff, and comes
 * back after a reload through a WebviewPanelSerializer (the webview keeps its own state with setState).
 */
import * as vscode from "vscode";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import {
  analyzeModels,
  mergeVerdict,
  shortLabels,
  verdictSentence,
  type Analysis,
} from "../core/architecture/index.js";
import { checkDataFitsModel, describeDataset, loadDataset, modelInterface } from "../core/data/index.js";
import { soupVerdict, stopReason, verdictParagraph } from "../core/report/verdict.js";
import { stat } from "node:fs/promises";
import {
  DEFAULT_CONFIG,
  validateFromWebview,
  type DataPreview,
  type FromWebview,
  type MergeConfig,
  type PanelInit,
  type ToWebview,
} from "../protocol/panel.js";
import { WorkerRequests, type Coefficients, type PythonCandidates, type SoupReport } from "../protocol/worker.js";
import { editorPythonCandidates } from "./python-environment.js";
import { findPythonWithTorch, type PythonWithTorch } from "../core/python/find-python.js";
import { checkTorchArchitecture, torchIngredients, torchLabel, type TorchIngredients } from "./torch-ingredients.js";
import type { JobStatus } from "./job-progress.js";
import { WebviewLink } from "./webview-link.js";
import { ProgressBatches } from "./progress-batches.js";
import { describeProgress } from "./progress-text.js";
import { openLayerChanges } from "./layer-diff.js";
import { panelHtml } from "./panel-html.js";
import { backendSetting } from "./settings.js";
import { defaultSaveTarget } from "./save-target.js";
import {
  dataSpec,
  includedModels,
  runOptions,
  jobRequest,
  jobTitle,
  reportOfEvaluation,
  saveRequest,
  type PanelJob,
} from "./panel-request.js";
import { basinNotice, isBasinWarning } from "./basin-notice.js";
import { nextStep } from "./next-step.js";
import { panelTitle } from "./panel-title.js";
import { withoutAlignHint } from "../core/report/basin.js";
import { openUnitMoves } from "./unit-moves-view.js";
import { mainDtype } from "./tree-nodes.js";
import { ARCHITECTURE_FILTERS, checkArchitectureFile, checkTestRows } from "./panel-files.js";
import type { ModelManifest } from "../core/model.js";
import { formatLabel, fullModelBeside } from "../core/formats/registry.js";
import type { WorkerManager } from "./worker-manager.js";

export const PANEL_VIEW_TYPE = "modelSoup.mergePanel";
/** Data files larger than this are not previewed in the extension host; the worker checks them on Start. */
const MAX_PREVIEW_BYTES = 32 * 1024 * 1024;

export interface PanelServices {
  extensionUri: vscode.Uri;
  worker: WorkerManager;
  jobs: JobStatus;
  output: vscode.LogOutputChannel;
}

/** What the webview stores with setState and the serializer hands back after a reload. */
export interface PanelState {
  models: string[];
}

let jobCounter = 0;

export class MergePanel implements vscode.Disposable {
  static readonly open = new Set<MergePanel>();
  private readonly disposables: vscode.Disposable[] = [];
  private analysis: Analysis | undefined;
  private data: { path: string; label?: string; test?: string } | undefined;
  /** The chosen architecture file for weights-only ingredients, and its manifest when it is a model file. */
  private architecture: { path: string; manifest?: ModelManifest } | undefined;
  /** Which ingredients are PyTorch models and which of them run without an architecture given. */
  private torch: TorchIngredients | undefined;
  /** The Python with torch found for this panel's PyTorch models (looked for once). */
  private torchPython: Promise<PythonWithTorch> | undefined;
  private report: SoupReport | undefined;
  private lastConfig: MergeConfig | undefined;
  private running: vscode.CancellationTokenSource | undefined;
  private saved: { model: string; recipe: string } | undefined;
  private readonly resultEmitter = new vscode.EventEmitter<SoupReport | Error>();
  private markReady!: () => void;
  /** Resolves when the webview has loaded and said "ready" (its script ran under the CSP). */
  readonly whenReady = new Promise<void>((resolve) => (this.markReady = resolve));
  /** Fires when a job ended, with its report or error. */
  readonly onResult = this.resultEmitter.event;

  static create(services: PanelServices, models: string[]): MergePanel {
    const panel = vscode.window.createWebviewPanel(
      PANEL_VIEW_TYPE,
      titleFor(models),
      vscode.ViewColumn.Active,
      webviewOptions(services.extensionUri),
    );
    return new MergePanel(panel, services, models);
  }

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly services: PanelServices,
    readonly models: string[],
  ) {
    MergePanel.open.add(this);
    services.worker.prepare();
    panel.webview.options = webviewOptions(services.extensionUri);
    panel.iconPath = vscode.Uri.joinPath(services.extensionUri, "media", "soup.svg");
    panel.webview.html = panelHtml(panel.webview, services.extensionUri);
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState(({ webviewPanel }) => {
        if (!webviewPanel.visible) this.link.lost();
      }),
      panel.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      services.worker.onProgress((p) => {
        if (this.running && p.jobId === this.jobId) this.progress.push(p);
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration("modelSoup.backend"))
          void this.post({ type: "settings", backend: backendSetting() });
      }),
    );
  }

  private jobId = "";
  private dataProblem: string | undefined;

  /** Why the chosen data does not fit the models (shown in the panel, where Start stays disabled), if it does not. */
  get dataError(): string | undefined {
    return this.dataProblem;
  }

  get lastReport(): SoupReport | undefined {
    return this.report;
  }

  get savedOutput(): { model: string; recipe: string } | undefined {
    return this.saved;
  }

  private readonly link = new WebviewLink<ToWebview>((message) => this.panel.webview.postMessage(message));

  /** The last job state shown, so a page reloaded after the panel was hidden shows how the job ended. */
  private lastJob: Extract<ToWebview, { type: "job" }> | undefined;

  /** Progress goes to the panel in batches, at most every PROGRESS_INTERVAL_MS (progress-batches.ts). */
  private readonly progress = new ProgressBatches(
    (items) => void this.link.post({ type: "progress", items, text: describeProgress(items.at(-1)!) }),
  );

  private post(message: ToWebview): PromiseLike<boolean> {
    if (message.type === "job") this.lastJob = message;
    // Whatever progress waits was reported before this message: it goes first.
    this.progress.flush();
    return this.link.post(message);
  }

  private async receive(raw: unknown): Promise<void> {
    const message = validateFromWebview(raw);
    if (message instanceof Error) {
      this.services.output.error(message.message);
      return;
    }
    try {
      await this.handle(message);
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      this.services.output.error(text);
      void this.post({ type: "job", state: "failed", message: text });
    }
  }

  /** Handles one validated message (public so tests can drive the panel the way its webview does). */
  async handle(message: FromWebview): Promise<void> {
    switch (message.type) {
      case "ready":
        await this.sendInit();
        this.markReady();
        return;
      case "pickData":
        return this.pickData(message.folder === true);
      case "setData":
        return this.setData(message.path, message.label);
      case "pickTestData":
        return this.pickTestData();
      case "pickArchitecture":
        return this.pickArchitecture();
      case "clear":
        return this.clear(message.what);
      case "start":
        return this.start(message.config);
      case "cancel":
        this.running?.cancel();
        return;
      case "save":
        await this.save(message.coefficients);
        return;
      case "showDiff":
        return this.showDiff(message.ingredient);
      case "showUnitMoves":
        await this.showUnitMoves(message.ingredient);
        return;
      case "openSaved":
        return this.openSaved(message.what);
      case "openIngredient":
        return this.openIngredient(message.path, message.what);
    }
  }

  /** Answers a page's "ready": everything it shows, the init first (nothing reaches a page before its init). */
  private async sendInit(): Promise<void> {
    this.analysis ??= await analyzeModels(this.models);
    const a = this.analysis;
    const verdict = mergeVerdict(a);
    const labels = shortLabels(a.models.map((m) => m.path));
    const first = a.models[0]?.manifest;
    this.torch ??= await torchIngredients(a.models.map((m) => m.manifest));
    const torch = this.torch;
    const runs = (m: (typeof a.models)[number]) => m.manifest.architecture !== undefined || torch.runnable.has(m.path);
    const weightsOnly = a.models.some((m) => !runs(m));
    const suggested =
      first && weightsOnly && !torch.pytorch ? await fullModelBeside(first).catch(() => undefined) : undefined;
    // A PyTorch state dict's first 2-D weight is [out, in], no Keras kernel: the worker checks the data instead.
    const features = first && !torch.pytorch ? inputFeatures(first) : undefined;
    const init: PanelInit = {
      title: titleFor(this.models),
      ...(features !== undefined ? { modelFeatures: features } : {}),
      ...(suggested !== undefined ? { suggestedArchitecture: suggested } : {}),
      ...(torch.pytorch ? { pytorch: true } : {}),
      ingredients: a.models.map((m, i) => ({
        path: m.path,
        label: labels[i]!,
        format: formatLabel(m.format, true),
        parameters: m.parameters,
        dtype: mainDtype(m),
        architecture: runs(m),
      })),
      compatibility: { mergeable: verdict.mergeable, message: verdictSentence(verdict) },
      trusted: vscode.workspace.isTrusted,
      defaults: {
        ...DEFAULT_CONFIG,
        // Weights-only checkpoints run nothing until an architecture is chosen: the plain average merges them now.
        ...(weightsOnly ? { method: "uniform" as const } : {}),
        backend: backendSetting(),
        ingredients: a.models.map((m) => ({ path: m.path, include: true, coefficient: 1 })),
        ...(this.data ? { data: this.data } : {}),
        ...(this.architecture ? { architecture: this.architecture.path } : {}),
      },
    };
    this.link.opened();
    await this.post({ type: "init", init });
    if (torch.pytorch) void this.postTorch();
    if (this.architecture) await this.post({ type: "architecture", path: this.architecture.path });
    if (this.data) await this.setData(this.data.path, this.data.label);
    if (this.data?.test !== undefined) await this.setTestData(this.data.test);
    if (this.report) await this.postResult(this.report);
    if (this.saved) await this.post({ type: "saved", ...this.saved });
    // Last: the data preview above clears an ended job's status, as it does when new data is chosen.
    if (this.lastJob) await this.post(this.lastJob);
  }

  /** A data file, or (folder) an image folder with one subfolder per class. */
  private async pickData(folder: boolean): Promise<void> {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false,
      canSelectFiles: !folder,
      canSelectFolders: folder,
      // The workspace, not a model folder: data usually lives beside the models, not inside them.
      defaultUri: dataFolder(this.models),
      openLabel: "Use as Data",
      title: folder ? "Image folder (one subfolder per class) to learn and compare on" : "Data to learn and compare on",
      ...(folder ? {} : { filters: DATA_FILTERS }),
    });
    if (picked?.[0]) await this.setData(picked[0].fsPath);
  }

  /**
   * Reads the data enough to preview it and checks it against the models' declared input shape and output
   * classes, so a mismatch shows before anything runs. A different file or label column clears the last result.
   */
  async setData(path: string, label?: string): Promise<void> {
    if (this.data?.path !== path || this.data?.label !== label) this.forgetOutcome();
    const test = this.data?.path === path ? this.data.test : undefined;
    this.data = { path, ...(label ? { label } : {}), ...(test !== undefined ? { test } : {}) };
    this.dataProblem = undefined;
    let preview: DataPreview | undefined;
    try {
      const info = await stat(path);
      if (info.isFile() && info.size > MAX_PREVIEW_BYTES) {
        preview = {
          path,
          task: "unknown",
          samples: 0,
          xShape: [],
          notes: ["too large to preview here; it is checked when the merge starts"],
        };
        await this.post({ type: "dataPreview", path, preview });
        return;
      }
      const manifest = await this.shapeSource();
      const inputShape = manifest ? modelInterface(manifest)?.inputShape : undefined;
      const dataset = await loadDataset(path, { ...(label ? { label } : {}), ...(inputShape ? { inputShape } : {}) });
      const d = describeDataset(dataset);
      preview = {
        path,
        task: d.task,
        samples: d.samples,
        xShape: d.xShape,
        ...(d.labelName !== undefined ? { labelName: d.labelName } : {}),
        ...(d.classCounts ? { classCounts: d.classCounts.map((c) => ({ name: c.name, count: c.count })) } : {}),
        featureRange: d.featureRange,
        notes: d.notes,
      };
      const checked = manifest ? checkDataFitsModel(dataset, manifest, path) : undefined;
      if (checked) preview.notes.push(...checked.notes);
      this.dataProblem = undefined;
      await this.post({ type: "dataPreview", path, preview });
    } catch (error) {
      this.dataProblem = error instanceof Error ? error.message : String(error);
      await this.post({ type: "dataPreview", path, ...(preview ? { preview } : {}), error: this.dataProblem });
    }
  }

  /** The last result no longer describes what the panel would run. */
  private forgetOutcome(): void {
    this.report = undefined;
    this.saved = undefined;
    this.lastJob = undefined;
  }

  /** The manifest that declares the models' input and output: the architecture file's, else the first ingredient's. */
  private async shapeSource(): Promise<ModelManifest | undefined> {
    if (this.architecture?.manifest) return this.architecture.manifest;
    this.analysis ??= await analyzeModels(this.models);
    return this.analysis.models[0]?.manifest;
  }

  private async pickTestData(): Promise<void> {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false,
      defaultUri: vscode.Uri.file(dirname(this.data?.path ?? this.models[0] ?? "")),
      openLabel: "Use as Test Rows",
      title: "Your own held-out rows, used only for the final comparison",
      filters: DATA_FILTERS,
    });
    if (picked?.[0]) await this.setTestData(picked[0].fsPath);
  }

  /** The user's own test rows: read with the data's label column and checked against the models. */
  async setTestData(path: string): Promise<void> {
    if (!this.data) throw new Error("Choose the data to learn from first, then its test rows.");
    if (this.data.test !== path) this.forgetOutcome();
    this.data = { ...this.data, test: path };
    try {
      const samples = await checkTestRows(path, this.data.label, await this.shapeSource());
      await this.post({ type: "testData", path, samples });
    } catch (error) {
      await this.post({ type: "testData", path, error: error instanceof Error ? error.message : String(error) });
    }
  }

  private async pickArchitecture(): Promise<void> {
    this.analysis ??= await analyzeModels(this.models);
    this.torch ??= await torchIngredients(this.analysis.models.map((m) => m.manifest));
    if (this.torch.pytorch) {
      const folder = dirname(this.models[0] ?? "");
      const typed = await vscode.window.showInputBox({
        title: "The PyTorch architecture of these state dicts",
        prompt: vscode.workspace.isTrusted
          ? `torchvision:<name>, <file.py>:<function> (relative to ${folder}) that returns the model, or huggingface:<folder with config.json>`
          : "torchvision:<name> or huggingface:<folder with config.json> (your own <file.py>:<function> runs in a trusted workspace only)",
        placeHolder: "torchvision:resnet18",
        value: this.architecture?.path ?? "",
        ignoreFocusOut: true,
        validateInput: (value) => {
          const checked = checkTorchArchitecture(value, folder, vscode.workspace.isTrusted);
          return "error" in checked ? checked.error : undefined;
        },
      });
      if (typed !== undefined) await this.setArchitecture(typed);
      return;
    }
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false,
      defaultUri: vscode.Uri.file(dirname(this.models[0] ?? "")),
      openLabel: "Use This Architecture",
      title: "A full model file (or topology JSON) of the same architecture as these weights-only checkpoints",
      filters: ARCHITECTURE_FILTERS,
    });
    if (picked?.[0]) await this.setArchitecture(picked[0].fsPath);
  }

  /** The architecture file for weights-only ingredients, checked against the first ingredient's weights. */
  async setArchitecture(path: string): Promise<void> {
    if (this.architecture?.path !== path) this.forgetOutcome();
    this.architecture = { path };
    this.analysis ??= await analyzeModels(this.models);
    this.torch ??= await torchIngredients(this.analysis.models.map((m) => m.manifest));
    if (this.torch.pytorch) {
      // A PyTorch architecture (the user named it: user code runs only then, and only in a trusted workspace).
      const checked = checkTorchArchitecture(path, dirname(this.models[0] ?? ""), vscode.workspace.isTrusted);
      if ("error" in checked) {
        await this.post({ type: "architecture", path, error: checked.error });
        return;
      }
      this.architecture = { path: checked.spec };
      await this.post({ type: "architecture", path: checked.spec });
      return;
    }
    const ingredient = this.analysis.models[0]?.manifest;
    try {
      const manifest = ingredient ? await checkArchitectureFile(path, ingredient) : undefined;
      this.architecture = { path, ...(manifest ? { manifest } : {}) };
      await this.post({ type: "architecture", path });
    } catch (error) {
      await this.post({ type: "architecture", path, error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** Forgets a chosen file; without data, its test rows go too. */
  async clear(what: "data" | "test" | "architecture"): Promise<void> {
    this.forgetOutcome();
    if (what === "architecture") {
      this.architecture = undefined;
      await this.post({ type: "architecture" });
    } else if (what === "test" && this.data) {
      const { test: _test, ...rest } = this.data;
      this.data = rest;
      await this.post({ type: "testData" });
    } else if (what === "data") {
      this.data = undefined;
      this.dataProblem = undefined;
    }
  }

  /** Runs the configured job; resolves when it ended (its result or error is posted to the webview). */
  async start(config: MergeConfig): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      throw new Error(
        "Merging runs the models in a worker process (TensorFlow.js, or your Python with PyTorch), which needs a trusted workspace. Trust this folder to merge.",
      );
    }
    if (this.running) throw new Error("A job is already running in this panel; cancel it first.");
    const jobId = `panel-${++jobCounter}`;
    // PyTorch models run on the user's torch: a TF.js backend setting does not apply to them.
    if (this.torch?.pytorch) config = { ...config, backend: "auto" };
    const job = jobRequest(config, this.models, jobId, await this.pythonCandidates());
    this.lastConfig = config;
    this.report = undefined;
    this.saved = undefined;
    if (job.request === "fixedSave") return this.saveWithoutData();
    this.jobId = jobId;
    this.running = new vscode.CancellationTokenSource();
    await this.post({ type: "job", state: "running" });
    try {
      const report = await this.services.jobs.run(
        jobTitle(config.method),
        async (token, reportProgress) => {
          const relay = this.services.worker.onProgress((p) => {
            if (p.jobId === jobId) reportProgress(p);
          });
          try {
            return await this.runJob(job, token);
          } finally {
            relay.dispose();
          }
        },
        this.running.token,
        this.panel,
      );
      this.report = report;
      await this.postResult(report);
      await this.post({ type: "job", state: "done" });
      this.resultEmitter.fire(report);
    } catch (error) {
      const cancelled = error instanceof vscode.CancellationError || this.running.token.isCancellationRequested;
      const text = error instanceof Error ? error.message : String(error);
      await this.post({
        type: "job",
        state: cancelled ? "cancelled" : "failed",
        message: cancelled ? "Cancelled" : text,
      });
      this.resultEmitter.fire(error instanceof Error ? error : new Error(text));
      if (!cancelled) throw error;
    } finally {
      this.running.dispose();
      this.running = undefined;
    }
  }

  private postResult(report: SoupReport): PromiseLike<boolean> {
    const verdict = soupVerdict(report);
    const basin = basinNotice(report, (path) => this.labelOf(path));
    return this.post({
      type: "result",
      // The panel says it once, in its basin notice (which offers "Align first" itself): the worker's basin
      // warnings, and their command-line hint, would say it again.
      report: {
        ...report,
        warnings: withoutAlignHint(
          basin === undefined ? report.warnings : report.warnings.filter((w) => !isBasinWarning(w)),
        ),
      },
      verdict: verdictParagraph(verdict),
      ...(report.learning ? { stopReason: stopReason(report.learning) } : {}),
      ...withBasin(basin),
      next: nextStep(report, verdict, (path) => this.labelOf(path)),
    });
  }

  /** The best ingredient, kept as it is: opened in the model viewer, or its path copied. */
  async openIngredient(path: string, what: "open" | "copyPath"): Promise<void> {
    if (!this.models.includes(path)) throw new Error(`${path} is not one of this panel's ingredients.`);
    if (what === "open") await vscode.commands.executeCommand("vscode.open", vscode.Uri.file(path));
    else {
      await vscode.env.clipboard.writeText(path);
      void vscode.window.showInformationMessage(`Copied the path of ${this.labelOf(path)}: ${path}`);
    }
  }

  /** The shortest path suffix that tells a model apart from the panel's others. */
  private labelOf(path: string): string {
    const i = this.models.indexOf(path);
    return i < 0 ? path : shortLabels(this.models)[i]!;
  }

  private async runJob(job: PanelJob, token: vscode.CancellationToken): Promise<SoupReport> {
    const worker = this.services.worker;
    switch (job.request) {
      case "learn":
        return worker.request(WorkerRequests.learn, job.params, token);
      case "dataMerge":
        return worker.request(WorkerRequests.dataMerge, job.params, token);
      case "greedy":
        return worker.request(WorkerRequests.greedy, job.params, token);
      case "evaluate":
        return reportOfEvaluation(await worker.request(WorkerRequests.evaluate, job.params, token), job);
      case "fixedEvaluate":
        return worker.request(WorkerRequests.fixedEvaluate, job.params, token);
      case "fixedSave":
        throw new Error("A merge without data is saved, not run.");
    }
  }

  /** A fixed merge without data: nothing to compare, so Start writes it (where the save dialog says). */
  private async saveWithoutData(): Promise<void> {
    const saved = await this.save();
    await this.post({
      type: "job",
      state: saved ? "done" : "idle",
      ...(saved
        ? { message: `Merged without data (nothing to compare): saved ${saved.model} and its recipe ${saved.recipe}.` }
        : {}),
    });
  }

  /** The path the save dialog proposes: a sibling folder of the ingredients' folder ("models-soup"), same format. */
  defaultSavePath(): string {
    return defaultSaveTarget(this.models);
  }

  /** Writes the merged model (and its recipe) with the last result's coefficients; `target` skips the dialog. */
  async save(coefficients?: Coefficients, target?: string): Promise<{ model: string; recipe: string } | undefined> {
    if (!vscode.workspace.isTrusted) throw new Error("Saving a merged model needs a trusted workspace.");
    let out = target;
    if (!out) {
      const uri = await vscode.window.showSaveDialog({
        defaultUri: vscode.Uri.file(this.defaultSavePath()),
        saveLabel: "Save Merged Model",
        title: "Save the merged model (its recipe is written beside it)",
      });
      if (!uri) return undefined;
      out = uri.fsPath;
    }
    const job = saveRequest({
      config: this.lastConfig,
      panelModels: this.models,
      ...(coefficients ? { given: coefficients } : {}),
      ...(this.report ? { reported: this.report.coefficients } : {}),
      ...(this.report?.record ? { record: this.report.record } : {}),
      ...(this.report?.alignment ? { alignment: this.report.alignment } : {}),
      out,
      jobId: `save-${++jobCounter}`,
      python: await this.pythonCandidates(),
    });
    const result = await this.services.jobs.run(
      "saving the merged model",
      async (token) =>
        job.request === "dataMerge"
          ? (await this.services.worker.request(WorkerRequests.dataMerge, job.params, token)).output!
          : job.request === "align"
            ? (await this.services.worker.request(WorkerRequests.align, job.params, token)).outputs[0]!
            : await this.services.worker.request(WorkerRequests.merge, job.params, token),
      undefined,
      this.panel,
    );
    this.saved = { model: result.model, recipe: result.recipe };
    await this.post({ type: "saved", ...this.saved });
    // Announced where the user looks, once: in view, the panel's line (it scrolls there; a status for screen
    // readers); a notification with the same actions would cover that line. Out of view (the user went on to
    // another editor while it saved), the notification. A preview written for the per-layer change (`target`
    // given) is no save.
    if (!target && !this.panel.visible) {
      void vscode.window
        .showInformationMessage(
          `Saved the merged model to ${result.model} (recipe: ${basename(result.recipe)}).`,
          "Reveal in Explorer",
          "Open Recipe",
        )
        .then((choice) => choice && this.openSaved(choice === "Open Recipe" ? "recipe" : "reveal"));
    }
    return this.saved;
  }

  /** Reveals the saved model in the Explorer, or opens its recipe. */
  async openSaved(what: "reveal" | "recipe"): Promise<void> {
    if (!this.saved) return;
    if (what === "recipe") await vscode.window.showTextDocument(vscode.Uri.file(this.saved.recipe));
    else await vscode.commands.executeCommand("revealInExplorer", vscode.Uri.file(this.saved.model));
  }

  /**
   * The merged model's per-layer change from an ingredient (the first when none is named): a document titled
   * with both sides, and a bar chart in the panel. An unsaved merge is written to a temporary folder first.
   */
  async showDiff(ingredient?: string): Promise<void> {
    let merged = this.saved?.model;
    if (!merged) {
      // An existing folder: the worker names the model file in it as the format does.
      const saved = await this.save(undefined, mkdtempSync(join(tmpdir(), "model-soup-preview-")));
      merged = saved?.model;
    }
    if (!merged) return;
    const reference = ingredient !== undefined && this.models.includes(ingredient) ? ingredient : this.models[0]!;
    const labels = shortLabels(this.models);
    const referenceLabel = `ingredient ${this.models.indexOf(reference) + 1} (${labels[this.models.indexOf(reference)]})`;
    const mergedLabel =
      this.saved && this.saved.model === merged
        ? `merged (${shortLabels([merged, ...this.models])[0]})`
        : "merged (not saved)";
    const tensors = await openLayerChanges(
      this.services.worker,
      merged,
      reference,
      { model: mergedLabel, reference: referenceLabel },
      true,
    );
    this.layerChanges = { reference, rows: tensors.map((t) => ({ name: t.name, change: t.relativeChange ?? 0 })) };
    await this.post({
      type: "layerChanges",
      model: mergedLabel,
      reference: referenceLabel,
      referencePath: reference,
      rows: this.layerChanges.rows,
    });
  }

  /**
   * After an aligned run: the ingredient beside its aligned self, as which unit went where (alignment changes no
   * value). Returns the page's text.
   */
  async showUnitMoves(ingredient: string): Promise<string | undefined> {
    const alignment = this.report?.alignment;
    const config = this.lastConfig;
    if (!alignment || !config)
      throw new Error("Run an aligned merge first (Align first), then compare an ingredient with its aligned self.");
    const models = includedModels(config, this.models);
    const index = models.indexOf(ingredient);
    if (index < 0) throw new Error(`${this.labelOf(ingredient)} was not among the ingredients of the last run.`);
    const ordinal = (path: string) => `ingredient ${this.models.indexOf(path) + 1} (${this.labelOf(path)})`;
    const python = await this.pythonCandidates();
    return this.services.jobs.run(
      "aligning the models again to show which units moved",
      (token) =>
        openUnitMoves(
          this.services.worker,
          {
            models,
            align: { method: alignment.method, reference: alignment.reference },
            data: dataSpec(config),
            ...runOptions(config, python),
            ...(config.backend !== "auto" ? { backend: config.backend } : {}),
          },
          index,
          { model: ordinal(ingredient), reference: ordinal(alignment.reference) },
          token,
        ),
      undefined,
      this.panel,
    );
  }

  /**
   * PyTorch models: the Python that runs them, looked for once per panel in the background (the page shows it as
   * the backend), or what was tried and how to get torch.
   */
  private async postTorch(): Promise<void> {
    this.torchPython ??= this.pythonCandidates().then((candidates) => findPythonWithTorch(candidates));
    try {
      const found = await this.torchPython;
      await this.post({ type: "torch", label: torchLabel(found), devices: [...found.devices] });
    } catch (error) {
      await this.post({ type: "torch", error: error instanceof Error ? error.message : String(error) });
    }
  }

  /**
   * The editor's Python candidates for PyTorch models (the setting, the Python extension's environment for the
   * workspace folder of the first ingredient), read for each job: either may have changed since the panel opened.
   */
  private pythonCandidates(): Promise<PythonCandidates> {
    const first = this.models[0];
    const folder = first ? vscode.workspace.getWorkspaceFolder(vscode.Uri.file(first)) : undefined;
    return editorPythonCandidates(folder?.uri ?? (first ? vscode.Uri.file(first) : undefined));
  }

  /** The last per-layer change the panel drew (for the tests). */
  layerChanges: { reference: string; rows: { name: string; change: number }[] } | undefined;

  dispose(): void {
    MergePanel.open.delete(this);
    this.running?.cancel();
    this.progress.dispose();
    for (const d of this.disposables) d.dispose();
    this.resultEmitter.dispose();
  }
}

/** The data formats the loaders read (src/core/data/load.ts), gzip-compressed CSV, TSV and JSON included. */
const DATA_FILTERS = { "Data files (.csv, .tsv, .json, .npz, .npy, .gz)": ["csv", "tsv", "json", "npz", "npy", "gz"] };

/** Where the data dialog opens: the workspace folder that holds the models, else the one above their folder. */
function dataFolder(models: readonly string[]): vscode.Uri {
  const first = models[0];
  const folder = first ? vscode.workspace.getWorkspaceFolder(vscode.Uri.file(first)) : undefined;
  return folder?.uri ?? vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(dirname(dirname(first ?? "")));
}

/**
 * How many input features a model takes: its architecture's declared input, else (weights-only checkpoints) the rows
 * of its first weight when that is a Dense kernel; undefined when neither says.
 */
export function inputFeatures(manifest: ModelManifest): number | undefined {
  const shape = modelInterface(manifest)?.inputShape.slice(1);
  if (shape && shape.length > 0 && shape.every((d): d is number => d !== null)) return shape.reduce((x, y) => x * y, 1);
  if (manifest.architecture !== undefined) return undefined;
  const first = manifest.tensors.find((t) => t.shape.length >= 2);
  return first && first.shape.length === 2 ? first.shape[0] : undefined;
}

function withBasin(basin: string | undefined): { basin?: string } {
  return basin === undefined ? {} : { basin };
}

function titleFor(models: readonly string[]): string {
  return panelTitle(models, (folder) => vscode.workspace.asRelativePath(folder, false));
}

function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, "dist"), vscode.Uri.joinPath(extensionUri, "media")],
  };
}

export class MergePanelSerializer implements vscode.WebviewPanelSerializer<PanelState> {
  constructor(private readonly services: PanelServices) {}

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: PanelState | undefined): Promise<void> {
    const models = Array.isArray(state?.models) ? state.models.filter((m): m is string => typeof m === "string") : [];
    if (models.length === 0) {
      panel.dispose();
      return;
    }
    new MergePanel(panel, this.services, models);
  }
}
