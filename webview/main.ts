/**
 * The Merge panel (runs in the webview). Shows the ingredients, the method and data choices, the live
 * learning charts and the results; talks to the host only through the messages of src/protocol/panel.ts,
 * and keeps what it shows in getState/setState so it comes back after a reload.
 */
import "@vscode-elements/elements/dist/vscode-button/index.js";
import "@vscode-elements/elements/dist/vscode-checkbox/index.js";
import "@vscode-elements/elements/dist/vscode-textfield/index.js";
import "@vscode-elements/elements/dist/vscode-single-select/index.js";
import "@vscode-elements/elements/dist/vscode-option/index.js";
import "@vscode-elements/elements/dist/vscode-progress-ring/index.js";
import type { DataPreview, FromWebview, JobState, MergeConfig, PanelInit, ToWebview } from "../src/protocol/panel.js";
import type { ProgressParams, SoupReport } from "../src/protocol/worker.js";
import { LearningCharts } from "./charts.js";
import { formatNumber, h, present } from "./dom.js";

interface VsCodeApi {
  postMessage(message: FromWebview): void;
  getState(): SavedState | undefined;
  setState(state: SavedState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

interface SavedState {
  /** What the host's serializer needs to recreate the panel. */
  models: string[];
  config?: MergeConfig;
  preview?: DataPreview;
  report?: SoupReport;
  history?: ProgressParams[];
  saved?: { model: string; recipe: string };
}

const vscode = acquireVsCodeApi();
const root = document.getElementById("model-soup-panel")!;
let state: SavedState = vscode.getState() ?? { models: [] };
let init: PanelInit | undefined;
let config: MergeConfig | undefined;
let charts: LearningCharts | undefined;
let jobState: JobState = "idle";

function send(message: FromWebview): void {
  vscode.postMessage(message);
}

function persist(): void {
  vscode.setState(state);
}

type Field = HTMLElement & { value: string; checked?: boolean; disabled?: boolean };

function select(id: string, label: string, options: [string, string][], value: string, onChange: (v: string) => void): HTMLElement {
  const el = h("vscode-single-select", { id, "aria-label": label }) as Field;
  for (const [v, text] of options) el.append(h("vscode-option", { value: v, selected: v === value }, text));
  el.addEventListener("change", () => onChange(el.value));
  return h("label", { class: "field" }, h("span", {}, label), el);
}

function numberField(id: string, label: string, value: number, onChange: (v: number) => void, step = "any"): HTMLElement {
  const el = h("vscode-textfield", { id, type: "number", step, value: String(value), "aria-label": label }) as Field;
  el.addEventListener("change", () => {
    const v = Number(el.value);
    if (Number.isFinite(v)) onChange(v);
  });
  return h("label", { class: "field" }, h("span", {}, label), el);
}

function update(change: Partial<MergeConfig>): void {
  config = { ...config!, ...change };
  state.config = config;
  persist();
  renderMethodOptions();
  renderIngredients();
}

// ---------- sections ----------

const ingredientsBox = h("section", { "aria-labelledby": "ingredients-title" });
const methodBox = h("section", { "aria-labelledby": "method-title" });
const learnedBox = h("div", { class: "learned-options" });
const dataBox = h("section", { "aria-labelledby": "data-title" });
const previewBox = h("div", { class: "preview", id: "data-preview" });
const runBox = h("section", { class: "run" });
const statusLine = h("p", { class: "status", id: "job-status", role: "status" });
const resultsBox = h("section", { "aria-labelledby": "results-title", id: "results" });

function renderAll(): void {
  root.replaceChildren(...present(
    h("h1", {}, init!.title),
    h("p", { class: init!.compatibility.mergeable ? "notice" : "notice error", id: "compatibility" }, init!.compatibility.message),
    init!.trusted ? undefined : h("p", { class: "notice error" }, "This workspace is not trusted: models are listed and checked, but merging needs trust."),
    ingredientsBox,
    methodBox,
    dataBox,
    runBox,
    charts!.element,
    resultsBox,
  ));
  renderIngredients();
  renderMethod();
  renderData();
  renderRun();
  renderResults();
}

function renderIngredients(): void {
  const manual = config!.method === "manual";
  const rows = init!.ingredients.map((ingredient, i) => {
    const choice = config!.ingredients.find((c) => c.path === ingredient.path)!;
    const include = h("vscode-checkbox", { checked: choice.include, "aria-label": `Include ${ingredient.label}`, class: "include" }) as Field;
    include.addEventListener("change", () => {
      choice.include = !!include.checked;
      update({ ingredients: config!.ingredients });
    });
    const coefficient = h("vscode-textfield", {
      type: "number",
      step: "0.1",
      value: String(choice.coefficient),
      disabled: !manual || !choice.include,
      "aria-label": `Coefficient of ${ingredient.label}`,
      class: "coefficient",
    }) as Field;
    coefficient.addEventListener("change", () => {
      const v = Number(coefficient.value);
      if (Number.isFinite(v)) {
        choice.coefficient = v;
        state.config = config;
        persist();
      }
    });
    return h(
      "tr",
      {},
      h("td", {}, include),
      h("td", { title: ingredient.path }, `#${i + 1} ${ingredient.label}`),
      h("td", {}, ingredient.format),
      h("td", { class: "num" }, ingredient.parameters.toLocaleString("en-US")),
      h("td", {}, ingredient.dtype),
      h("td", {}, coefficient),
    );
  });
  ingredientsBox.replaceChildren(
    h("h2", { id: "ingredients-title" }, "Ingredients"),
    h(
      "table",
      { class: "grid" },
      h("thead", {}, h("tr", {}, ...["Use", "Model", "Format", "Parameters", "Dtype", "Weight (manual)"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, ...rows),
    ),
  );
}

function renderMethod(): void {
  methodBox.replaceChildren(
    h("h2", { id: "method-title" }, "Method"),
    select(
      "method",
      "Method",
      [
        ["learned", "Learned soup (coefficients learned from data)"],
        ["greedy", "Greedy soup"],
        ["uniform", "Uniform soup (plain average)"],
        ["manual", "Weighted average (manual weights)"],
        ["regmean", "RegMean (least squares on each layer's inputs)"],
        ["fisher", "Fisher merging (weighted by each model's Fisher)"],
      ],
      config!.method,
      (v) => update({ method: v as MergeConfig["method"] }),
    ),
    learnedBox,
  );
  renderMethodOptions();
}

function renderMethodOptions(): void {
  if (config!.method !== "learned") {
    learnedBox.replaceChildren();
    return;
  }
  if (learnedBox.childElementCount > 0) return;
  const c = config!;
  learnedBox.replaceChildren(
    h(
      "div",
      { class: "row" },
      select("granularity", "Granularity", [["model", "One coefficient per model"], ["layer", "One per layer and model"]], c.granularity, (v) => update({ granularity: v as MergeConfig["granularity"] })),
      select("parameterisation", "Coefficients", [["simplex", "Sum to 1 (softmax)"], ["nonneg", "Non-negative"], ["free", "Free"]], c.parameterisation, (v) => update({ parameterisation: v as MergeConfig["parameterisation"] })),
      select("objective", "Objective", [["supervised", "Labelled data (loss)"], ["entropy", "Unlabelled data (entropy)"]], c.objective, (v) => update({ objective: v as MergeConfig["objective"] })),
    ),
    h(
      "details",
      {},
      h("summary", {}, "Advanced"),
      h(
        "div",
        { class: "row" },
        numberField("learning-rate", "Learning rate", c.learningRate, (v) => update({ learningRate: v })),
        numberField("steps", "Steps", c.steps, (v) => update({ steps: Math.max(1, Math.round(v)) }), "1"),
        numberField("batch", "Batch size", c.batchSize, (v) => update({ batchSize: Math.max(1, Math.round(v)) }), "1"),
        numberField("validation", "Validation fraction", c.validationFraction, (v) => update({ validationFraction: v })),
        numberField("test", "Test fraction", c.testFraction, (v) => update({ testFraction: v })),
        numberField("seed", "Split seed", c.seed, (v) => update({ seed: Math.max(0, Math.round(v)) }), "1"),
        select("backend", "Backend", [["auto", "Automatic"], ["tfjs-node", "tfjs-node"], ["wasm", "WebAssembly"], ["cpu", "Plain JavaScript"]], c.backend, (v) => update({ backend: v as MergeConfig["backend"] })),
      ),
    ),
  );
}

function renderData(): void {
  const label = h("vscode-textfield", { id: "label-column", value: config!.data?.label ?? "", placeholder: "default", "aria-label": "Label column or key" }) as Field;
  label.addEventListener("change", () => {
    if (!config!.data) return;
    update({ data: { path: config!.data.path, ...(label.value ? { label: label.value } : {}) } });
    send({ type: "setData", path: config!.data.path, ...(label.value ? { label: label.value } : {}) });
  });
  dataBox.replaceChildren(
    h("h2", { id: "data-title" }, "Data"),
    h(
      "div",
      { class: "row" },
      h("vscode-button", { id: "pick-data", secondary: true, onclick: () => send({ type: "pickData" }) }, "Choose Data…"),
      h("vscode-button", { id: "pick-data-folder", secondary: true, title: "An image folder with one subfolder per class", onclick: () => send({ type: "pickData", folder: true }) }, "Choose Folder…"),
      h("span", { class: "path", id: "data-path" }, config!.data?.path ?? "No data chosen: learned and greedy soups and the comparison need labelled data."),
      h("label", { class: "field inline" }, h("span", {}, "Label column"), label),
    ),
    previewBox,
  );
  renderPreview();
}

function renderPreview(): void {
  const p = state.preview;
  if (!p) {
    previewBox.replaceChildren();
    return;
  }
  const classes = p.classCounts?.length
    ? h("p", {}, `Classes (${p.classCounts.length}): ${p.classCounts.map((c) => `${c.name}: ${c.count}`).join(", ")}`)
    : undefined;
  previewBox.replaceChildren(...present(
    h("p", {}, `${p.samples.toLocaleString("en-US")} samples · input shape [${p.xShape.slice(1).join(", ")}] · ${p.task}${p.labelName !== undefined ? ` · labels from "${p.labelName}"` : ""}`),
    classes,
    p.featureRange ? h("p", {}, `Feature values from ${formatNumber(p.featureRange.min, 3)} to ${formatNumber(p.featureRange.max, 3)}`) : undefined,
    ...p.notes.map((n) => h("p", { class: "note" }, n)),
  ));
}

function renderRun(): void {
  const running = jobState === "running";
  runBox.replaceChildren(...present(
    h("vscode-button", { id: "start", disabled: running || !init!.trusted || !init!.compatibility.mergeable, onclick: start }, "Start"),
    h("vscode-button", { id: "cancel", secondary: true, disabled: !running, onclick: () => send({ type: "cancel" }) }, "Cancel"),
    running ? h("vscode-progress-ring", { "aria-label": "Running" }) : undefined,
    statusLine,
  ));
}

function start(): void {
  charts!.reset();
  state.history = [];
  state.report = undefined;
  state.saved = undefined;
  persist();
  renderResults();
  send({ type: "start", config: config! });
}

function metricCell(value: number | undefined, metricName: string): string {
  if (value === undefined) return "—";
  return metricName === "accuracy" ? `${(value * 100).toFixed(2)}%` : formatNumber(value);
}

function renderResults(): void {
  const report = state.report;
  if (!report) {
    resultsBox.replaceChildren();
    return;
  }
  const m = report.metrics;
  const name = report.metricName;
  const rows: [string, { loss: number; metric: number }][] = [
    ...m.ingredients.map((r, i) => [`Ingredient #${i + 1} ${init?.ingredients.find((x) => x.path === r.model)?.label ?? r.model}`, r] as [string, { loss: number; metric: number }]),
    ["Uniform soup", m.uniform],
    [report.method === "uniform" ? "Merged (uniform)" : `Merged (${report.method})`, m.merged],
    ["Ensemble of outputs (costs N× at inference)", m.ensemble],
  ];
  const best = Math.max(...rows.slice(0, -1).map(([, r]) => (name === "accuracy" ? r.metric : -r.metric)));
  const coefficientText = Array.isArray(report.coefficients)
    ? report.coefficients.length === 0
      ? "none (weights from statistics of the data)"
      : report.coefficients.map((c, i) => `#${i + 1}: ${c.toFixed(3)}`).join(", ")
    : `${Object.keys(report.coefficients).length} layers × ${m.ingredients.length} ingredients (see the heatmap)`;
  resultsBox.replaceChildren(...present(
    h("h2", { id: "results-title" }, "Results (held-out test data)"),
    h(
      "table",
      { class: "grid results" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Model"), h("th", { scope: "col" }, name === "accuracy" ? "Accuracy" : name === "mae" ? "MAE" : "Mean entropy"), h("th", { scope: "col" }, "Loss"))),
      h(
        "tbody",
        {},
        ...rows.map(([label, r]) =>
          h(
            "tr",
            { class: (name === "accuracy" ? r.metric : -r.metric) === best ? "best" : "" },
            h("th", { scope: "row" }, label),
            h("td", { class: "num" }, metricCell(r.metric, name)),
            h("td", { class: "num" }, formatNumber(r.loss)),
          ),
        ),
      ),
    ),
    h("p", {}, `Coefficients: ${coefficientText} · backend ${report.backend} · ${report.seconds.toFixed(1)} s`),
    ...report.warnings.map((w) => h("p", { class: "notice warning" }, w)),
    ...report.mergeability
      .filter((p) => p.barrier > 0.05)
      .map((p) => h("p", { class: "notice warning" }, `Mergeability: the midpoint of ${p.a} and ${p.b} loses ${formatNumber(p.barrier)} more than its ends (a loss barrier); averaging these may not work well.`)),
    h(
      "div",
      { class: "row" },
      h("vscode-button", { id: "save", onclick: () => send({ type: "save" }) }, "Save Merged Model…"),
      h("vscode-button", { id: "show-diff", secondary: true, onclick: () => send({ type: "showDiff" }) }, "Show Per-Layer Diff"),
    ),
    state.saved ? h("p", { id: "saved", class: "notice" }, `Saved ${state.saved.model} and its recipe ${state.saved.recipe}`) : undefined,
  ));
}

function setJob(next: JobState, message?: string): void {
  jobState = next;
  statusLine.textContent = message ?? (next === "running" ? "Running…" : next === "done" ? "Done." : "");
  statusLine.className = next === "failed" ? "status error" : "status";
  renderRun();
}

// ---------- messages from the host ----------

window.addEventListener("message", (event: MessageEvent<ToWebview>) => {
  const message = event.data;
  switch (message.type) {
    case "init": {
      init = message.init;
      const saved = state.config;
      const paths = init.ingredients.map((i) => i.path);
      const sameModels = saved && saved.ingredients.length === paths.length && saved.ingredients.every((c) => paths.includes(c.path));
      config = sameModels ? saved : init.defaults;
      state = { ...state, models: paths, config };
      persist();
      charts = new LearningCharts(init.ingredients.map((_, i) => `#${i + 1}`));
      renderAll();
      for (const p of state.history ?? []) charts.add(p);
      return;
    }
    case "dataPreview":
      if (message.error) {
        state.preview = undefined;
        previewBox.replaceChildren(h("p", { class: "notice error", role: "alert" }, message.error));
      } else if (message.preview) {
        state.preview = message.preview;
        update({ data: { path: message.preview.path, ...(config!.data?.label ? { label: config!.data.label } : {}) } });
        (document.getElementById("data-path") as HTMLElement).textContent = message.preview.path;
        renderPreview();
      }
      persist();
      return;
    case "job":
      setJob(message.state, message.message);
      return;
    case "progress":
      (state.history ??= []).push(message.progress);
      if (state.history.length % 10 === 0) persist();
      charts?.add(message.progress);
      statusLine.textContent = `${message.progress.phase} ${message.progress.totalSteps ? `${message.progress.step}/${message.progress.totalSteps}` : ""}${message.progress.message ? ` · ${message.progress.message}` : ""}`;
      return;
    case "result":
      state.report = message.report;
      persist();
      if (!Array.isArray(message.report.coefficients)) charts?.drawHeatmap(message.report.coefficients);
      renderResults();
      return;
    case "saved":
      state.saved = { model: message.model, recipe: message.recipe };
      persist();
      renderResults();
      return;
  }
});

send({ type: "ready" });
