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
import {
  ALIGN_METHOD_CHOICES,
  BACKEND_SETTING_CHOICES,
  GRANULARITY_CHOICES,
  OBJECTIVE_CHOICES,
  PANEL_METHOD_CHOICES,
  PARAMETERISATION_CHOICES,
  type Choice,
} from "../src/protocol/choices.js";
import type { ProgressParams, SoupReport } from "../src/protocol/worker.js";
import { LearningCharts } from "./charts.js";
import { formatNumber, h, present } from "./dom.js";
import { restoredConfig } from "./restore.js";

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
  /** Why the chosen data does not fit the models (the host checks it as soon as it is chosen). */
  dataError?: string;
  report?: SoupReport;
  /** The host's verdict in words and, for a learned soup, why learning stopped. */
  verdict?: string;
  stopReason?: string;
  history?: ProgressParams[];
  saved?: { model: string; recipe: string };
  /** The ingredient the per-layer change compares the merge with. */
  diffReference?: string;
  /** The modelSoup.backend setting as last seen, to notice a change made while the panel was hidden. */
  settingBackend?: string;
  layerChanges?: { model: string; reference: string; rows: { name: string; change: number }[] };
  /** Which ingredients share no basin, from the last run that found some: the panel then offers "Align first". */
  basin?: string;
  /** The ingredient whose unit moves the panel shows (after an aligned run). */
  unitsOf?: string;
}

const vscode = acquireVsCodeApi();
const root = document.getElementById("model-soup-panel")!;
let state: SavedState = vscode.getState() ?? { models: [] };
let init: PanelInit | undefined;
let config: MergeConfig | undefined;
let charts: LearningCharts | undefined;
let jobState: JobState = "idle";
let advancedOpen = false;
/** Ids of the number fields whose text is not a valid value (Start waits until they are corrected). */
const invalidFields = new Set<string>();
const options = (list: readonly Choice[]): [string, string][] => list.map((c) => [c.value, c.label]);
const BACKEND_CHOICES = options(BACKEND_SETTING_CHOICES);

/** The id of the control whose action opened an editor dialog; it gets the focus back afterwards. */
let returnFocusTo: string | undefined;

function send(message: FromWebview): void {
  if (
    message.type === "pickData" ||
    message.type === "save" ||
    message.type === "showDiff" ||
    message.type === "showUnitMoves"
  ) {
    returnFocusTo = (document.activeElement as HTMLElement | null)?.id || undefined;
  }
  vscode.postMessage(message);
}

function restoreFocus(): void {
  if (!returnFocusTo) return;
  const target = document.getElementById(returnFocusTo);
  if (target) {
    returnFocusTo = undefined;
    target.focus();
  }
}

function persist(): void {
  vscode.setState(state);
}

type Field = HTMLElement & { value: string; checked?: boolean; disabled?: boolean; invalid?: boolean };

function select(
  id: string,
  label: string,
  options: [string, string][],
  value: string,
  onChange: (v: string) => void,
): HTMLElement {
  const el = h("vscode-single-select", { id, "aria-label": label }) as Field;
  for (const [v, text] of options) el.append(h("vscode-option", { value: v, selected: v === value }, text));
  el.addEventListener("change", () => onChange(el.value));
  return h("label", { class: "field" }, h("span", {}, label), el);
}

interface NumberRange {
  min: number;
  max: number;
  integer?: boolean;
}

/**
 * A text field for a number, checked against its range as the user types. (A number-typed vscode-textfield
 * takes `step` as a number, so `step="any"` becomes step 1 and draws every decimal as invalid.)
 */
function numberField(
  id: string,
  label: string,
  value: number,
  range: NumberRange,
  onChange: (v: number) => void,
): HTMLElement {
  const el = h("vscode-textfield", {
    id,
    inputmode: range.integer ? "numeric" : "decimal",
    value: String(value),
    "aria-label": label,
  }) as Field;
  const hint = `${range.integer ? "a whole number" : "a number"} from ${range.min} to ${range.max}`;
  const check = (): number | undefined => {
    const text = el.value.trim();
    const v = Number(text);
    const ok =
      text !== "" && Number.isFinite(v) && v >= range.min && v <= range.max && (!range.integer || Number.isInteger(v));
    el.invalid = !ok;
    if (ok) invalidFields.delete(id);
    else invalidFields.add(id);
    el.title = ok ? "" : `${label}: ${hint}`;
    return ok ? v : undefined;
  };
  el.addEventListener("input", () => {
    check();
    renderRun();
  });
  el.addEventListener("change", () => {
    const v = check();
    if (v !== undefined) onChange(v);
  });
  return h("label", { class: "field" }, h("span", {}, label), el);
}

/** A change of what the merge would do: the last result, its verdict and any error no longer describe it. */
function update(change: Partial<MergeConfig>): void {
  const methodChanged = change.method !== undefined && change.method !== config!.method;
  config = { ...config!, ...change };
  state.config = config;
  clearOutcome();
  persist();
  renderMethodOptions();
  if (methodChanged) renderAdvanced();
  renderIngredients();
  renderRun();
}

function clearOutcome(): void {
  if (jobState === "running") return;
  if (state.report || state.saved) {
    state.report = undefined;
    state.verdict = undefined;
    state.stopReason = undefined;
    state.saved = undefined;
    state.layerChanges = undefined;
    renderResults();
  }
  if (jobState === "failed" || jobState === "cancelled" || jobState === "done") setJob("idle");
}

// ---------- sections ----------

const ingredientsBox = h("section", { "aria-labelledby": "ingredients-title" });
const methodBox = h("section", { "aria-labelledby": "method-title" });
const learnedBox = h("div", { class: "learned-options" });
const alignBox = h("div", { class: "align-options", id: "align-options" });
const advancedBox = h("div", { class: "advanced" });
const dataBox = h("section", { "aria-labelledby": "data-title" });
const previewBox = h("div", { class: "preview", id: "data-preview" });
const runBox = h("section", { class: "run" });
const statusLine = h("p", { class: "status", id: "job-status", role: "status" });
const resultsBox = h("section", { "aria-labelledby": "results-title", id: "results" });

function renderAll(): void {
  root.replaceChildren(
    ...present(
      h("h1", {}, init!.title),
      h(
        "p",
        { class: init!.compatibility.mergeable ? "notice" : "notice error", id: "compatibility" },
        init!.compatibility.message,
      ),
      init!.trusted
        ? undefined
        : h(
            "p",
            { class: "notice error" },
            "This workspace is not trusted: models are listed and checked, but merging needs trust.",
          ),
      ingredientsBox,
      methodBox,
      dataBox,
      runBox,
      charts!.element,
      resultsBox,
    ),
  );
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
    const include = h("vscode-checkbox", {
      checked: choice.include,
      "aria-label": `Include ${ingredient.label}`,
      class: "include",
    }) as Field;
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
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...["Use", "Model", "Format", "Parameters", "Dtype", "Weight (manual)"].map((t) =>
            h("th", { scope: "col" }, t),
          ),
        ),
      ),
      h("tbody", {}, ...rows),
    ),
  );
}

function renderMethod(): void {
  methodBox.replaceChildren(
    h("h2", { id: "method-title" }, "Method"),
    select("method", "Method", options(PANEL_METHOD_CHOICES), config!.method, (v) =>
      update({ method: v as MergeConfig["method"] }),
    ),
    learnedBox,
    alignBox,
    advancedBox,
  );
  renderMethodOptions();
  renderAdvanced();
}

const ALIGN_CHOICES: [string, string][] = [
  ["none", "No: average the models as given"],
  ...options(ALIGN_METHOD_CHOICES),
];

/** "Align first", offered once a run found ingredients that share no basin (or while it is chosen). */
function renderAlign(): void {
  const c = config!;
  if (!state.basin && c.align === undefined) {
    alignBox.replaceChildren();
    return;
  }
  const applies = c.method === "learned" || c.method === "greedy";
  alignBox.replaceChildren(
    ...present(
      state.basin ? h("p", { class: "notice warning", id: "basin" }, state.basin) : undefined,
      select("align", "Align first", ALIGN_CHOICES, c.align ?? "none", (v) => {
        const { align: _, ...rest } = config!;
        config = v === "none" ? rest : { ...rest, align: v as NonNullable<MergeConfig["align"]> };
        update({});
      }),
      applies
        ? undefined
        : h("p", { class: "note", id: "align-note" }, "Aligning applies to the learned and greedy soups."),
    ),
  );
}

function renderMethodOptions(): void {
  renderAlign();
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
      select("granularity", "Granularity", options(GRANULARITY_CHOICES), c.granularity, (v) =>
        update({ granularity: v as MergeConfig["granularity"] }),
      ),
      select("parameterisation", "Coefficients", options(PARAMETERISATION_CHOICES), c.parameterisation, (v) =>
        update({ parameterisation: v as MergeConfig["parameterisation"] }),
      ),
      select("objective", "Objective", options(OBJECTIVE_CHOICES), c.objective, (v) =>
        update({ objective: v as MergeConfig["objective"] }),
      ),
    ),
  );
}

/**
 * The Advanced settings (split, seed and backend for every method; learning rate, steps and batch for the learned
 * soup), built when opened: inside a closed <details> the single-select reads its options' labels (innerText) as
 * empty, which drew a blank Backend dropdown. Rebuilt when the method or the backend setting changes.
 */
function renderAdvanced(): void {
  const details = h("details", { id: "advanced" }, h("summary", {}, "Advanced"));
  invalidFields.clear();
  const build = () => {
    if (!details.open || details.querySelector(".row")) return;
    const c = config!;
    const learned = c.method === "learned";
    const learning = (field: HTMLElement) => {
      if (!learned) field.querySelector("vscode-textfield")?.setAttribute("disabled", "");
      return field;
    };
    details.append(
      h(
        "div",
        { class: "row" },
        learning(
          numberField("learning-rate", "Learning rate", c.learningRate, { min: 1e-8, max: 100 }, (v) =>
            update({ learningRate: v }),
          ),
        ),
        learning(
          numberField("steps", "Steps", c.steps, { min: 1, max: 1_000_000, integer: true }, (v) =>
            update({ steps: v }),
          ),
        ),
        learning(
          numberField("batch", "Batch size", c.batchSize, { min: 1, max: 1_000_000, integer: true }, (v) =>
            update({ batchSize: v }),
          ),
        ),
        numberField("validation", "Validation fraction", c.validationFraction, { min: 0, max: 0.9 }, (v) =>
          update({ validationFraction: v }),
        ),
        numberField("test", "Test fraction", c.testFraction, { min: 0, max: 0.9 }, (v) => update({ testFraction: v })),
        numberField("seed", "Split seed", c.seed, { min: 0, max: 2 ** 32, integer: true }, (v) => update({ seed: v })),
        select("backend", "Backend", BACKEND_CHOICES, c.backend, (v) =>
          update({ backend: v as MergeConfig["backend"] }),
        ),
      ),
    );
  };
  details.addEventListener("toggle", () => {
    advancedOpen = details.open;
    build();
  });
  advancedBox.replaceChildren(details);
  if (advancedOpen) {
    details.open = true;
    queueMicrotask(build);
  }
}

function renderData(): void {
  const label = h("vscode-textfield", {
    id: "label-column",
    value: config!.data?.label ?? "",
    placeholder: "default",
    "aria-label": "Label column or key",
  }) as Field;
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
      h(
        "vscode-button",
        { id: "pick-data", secondary: true, onclick: () => send({ type: "pickData" }) },
        "Choose Data…",
      ),
      h(
        "vscode-button",
        {
          id: "pick-data-folder",
          secondary: true,
          title: "An image folder with one subfolder per class",
          onclick: () => send({ type: "pickData", folder: true }),
        },
        "Choose Folder…",
      ),
      h(
        "span",
        { class: "path", id: "data-path" },
        config!.data?.path ?? "No data chosen: learned and greedy soups and the comparison need labelled data.",
      ),
      h("label", { class: "field inline" }, h("span", {}, "Label column"), label),
    ),
    previewBox,
  );
  renderPreview();
}

function renderPreview(): void {
  const p = state.preview;
  const error = state.dataError
    ? h("p", { class: "notice error", role: "alert", id: "data-error" }, state.dataError)
    : undefined;
  if (!p) {
    previewBox.replaceChildren(...present(error));
    return;
  }
  const classes = p.classCounts?.length
    ? h("p", {}, `Classes (${p.classCounts.length}): ${p.classCounts.map((c) => `${c.name}: ${c.count}`).join(", ")}`)
    : undefined;
  previewBox.replaceChildren(
    ...present(
      h(
        "p",
        {},
        `${p.samples.toLocaleString("en-US")} samples · input shape [${p.xShape.slice(1).join(", ")}] · ${p.task}${p.labelName !== undefined ? ` · labels from "${p.labelName}"` : ""}`,
      ),
      classes,
      p.featureRange
        ? h(
            "p",
            {},
            `Feature values from ${formatNumber(p.featureRange.min, 3)} to ${formatNumber(p.featureRange.max, 3)}`,
          )
        : undefined,
      ...p.notes.map((n) => h("p", { class: "note" }, n)),
      error,
    ),
  );
}

/** Why Start cannot run yet, or undefined when it can. */
function startBlocker(): string | undefined {
  if (!init!.trusted) return "Merging needs a trusted workspace.";
  if (!init!.compatibility.mergeable) return init!.compatibility.message;
  const included = config!.ingredients.filter((i) => i.include).length;
  if (included < (config!.method === "manual" ? 1 : 2))
    return config!.method === "manual" ? "Include at least one ingredient." : "Include at least two ingredients.";
  if (invalidFields.size > 0) return "Correct the Advanced settings drawn in red.";
  if (config!.align !== undefined && config!.method !== "learned" && config!.method !== "greedy")
    return "Aligning applies to the learned and greedy soups: choose one, or Align first: No.";
  if (config!.validationFraction + config!.testFraction >= 0.95)
    return "The validation and test fractions leave no data to learn from.";
  if (!config!.data) return "Choose the data to learn from and compare on.";
  if (state.dataError) return "The chosen data does not fit the models (see Data).";
  return undefined;
}

function renderRun(): void {
  const running = jobState === "running";
  const blocker = startBlocker();
  runBox.replaceChildren(
    ...present(
      h(
        "vscode-button",
        {
          id: "start",
          disabled: running || blocker !== undefined,
          title: blocker ?? "Run the merge and compare it on held-out data",
          onclick: start,
        },
        "Start",
      ),
      h(
        "vscode-button",
        { id: "cancel", secondary: true, disabled: !running, onclick: () => send({ type: "cancel" }) },
        "Cancel",
      ),
      running ? h("vscode-progress-ring", { "aria-label": "Running" }) : undefined,
      !running && blocker ? h("span", { class: "note", id: "start-blocker" }, blocker) : undefined,
      statusLine,
    ),
  );
}

function start(): void {
  charts!.reset();
  state.history = [];
  state.report = undefined;
  state.verdict = undefined;
  state.stopReason = undefined;
  state.saved = undefined;
  state.layerChanges = undefined;
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
    ...m.ingredients.map(
      (r, i) =>
        [`Ingredient #${i + 1} ${init?.ingredients.find((x) => x.path === r.model)?.label ?? r.model}`, r] as [
          string,
          { loss: number; metric: number },
        ],
    ),
    ["Uniform soup", m.uniform],
    ...(m.alignedUniform
      ? [["Aligned uniform soup", m.alignedUniform] as [string, { loss: number; metric: number }]]
      : []),
    [report.method === "uniform" ? "Merged (uniform)" : `Merged (${report.method})`, m.merged],
    ["Ensemble of outputs (costs N× at inference)", m.ensemble],
  ];
  const best = Math.max(...rows.slice(0, -1).map(([, r]) => (name === "accuracy" ? r.metric : -r.metric)));
  const coefficientText = Array.isArray(report.coefficients)
    ? report.coefficients.length === 0
      ? "none (weights from statistics of the data)"
      : report.coefficients.map((c, i) => `#${i + 1}: ${c.toFixed(3)}`).join(", ")
    : `${Object.keys(report.coefficients).length} layers × ${m.ingredients.length} ingredients (see the heatmap)`;
  resultsBox.replaceChildren(
    ...present(
      h("h2", { id: "results-title" }, "Results (held-out test data)"),
      state.verdict ? h("p", { id: "verdict", class: "verdict" }, state.verdict) : undefined,
      state.stopReason ? h("p", { id: "stop-reason", class: "note" }, state.stopReason) : undefined,
      h(
        "table",
        { class: "grid results" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "Model"),
            h("th", { scope: "col" }, name === "accuracy" ? "Accuracy" : name === "mae" ? "MAE" : "Mean entropy"),
            h("th", { scope: "col" }, "Loss"),
          ),
        ),
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
      report.alignment ? alignmentSection(report.alignment) : undefined,
      h(
        "div",
        { class: "row" },
        h("vscode-button", { id: "save", onclick: () => send({ type: "save" }) }, "Save Merged Model…"),
        select(
          "diff-reference",
          "Compare the merge with",
          init!.ingredients.map((ingredient, i) => [ingredient.path, `Ingredient #${i + 1} ${ingredient.label}`]),
          state.diffReference ?? init!.ingredients[0]!.path,
          (v) => {
            state.diffReference = v;
            persist();
          },
        ),
        h(
          "vscode-button",
          {
            id: "show-diff",
            secondary: true,
            onclick: () => send({ type: "showDiff", ingredient: state.diffReference ?? init!.ingredients[0]!.path }),
          },
          "Show Per-Layer Change",
        ),
      ),
      state.layerChanges ? layerChart(state.layerChanges) : undefined,
      state.saved
        ? h(
            "div",
            { id: "saved", class: "notice row" },
            h("span", {}, `Saved ${state.saved.model} and its recipe ${state.saved.recipe}`),
            h(
              "vscode-button",
              { id: "reveal-saved", secondary: true, onclick: () => send({ type: "openSaved", what: "reveal" }) },
              "Reveal in Explorer",
            ),
            h(
              "vscode-button",
              { id: "open-recipe", secondary: true, onclick: () => send({ type: "openSaved", what: "recipe" }) },
              "Open Recipe",
            ),
          )
        : undefined,
    ),
  );
}

function labelOf(path: string): string {
  const i = init!.ingredients.findIndex((x) => x.path === path);
  return i < 0 ? path : `#${i + 1} ${init!.ingredients[i]!.label}`;
}

/** What aligning did: the reference, each pair's weight cosine and loss barrier before and after, and unit moves. */
function alignmentSection(a: NonNullable<SoupReport["alignment"]>): HTMLElement {
  const chosenBy =
    a.referenceChosenBy === "validation"
      ? "the best on validation"
      : a.referenceChosenBy === "user"
        ? "chosen"
        : "the first";
  const moved = a.moved.reduce((s, m) => s + m.units, 0);
  const barrier = (v: number | undefined) => (v === undefined ? "—" : formatNumber(v));
  const others = init!.ingredients.filter((i) => i.path !== a.reference && a.moved.some((m) => m.model === i.path));
  const unitsOf = state.unitsOf && others.some((o) => o.path === state.unitsOf) ? state.unitsOf : others[0]?.path;
  return h(
    "section",
    { id: "alignment", "aria-labelledby": "alignment-title" },
    h("h3", { id: "alignment-title" }, "Alignment"),
    h(
      "p",
      {},
      `${a.method === "weight" ? "Weight" : "Activation"} matching to ${labelOf(a.reference)} (${chosenBy}): ${moved} of ${a.units * Math.max(1, a.moved.length)} units moved in ${a.groups} group${a.groups === 1 ? "" : "s"}.`,
    ),
    ...a.fixedLayers.map((f) =>
      h("p", { class: "note" }, `${f.layer} (${f.className}) kept its neighbours' units in place: ${f.reason}`),
    ),
    a.repair
      ? h(
          "p",
          { class: "note" },
          `REPAIR of ${a.repair.layers.length} layer(s): validation loss ${formatNumber(a.repair.validation.before.loss)} → ${formatNumber(a.repair.validation.after.loss)}, ${a.repair.kept ? "kept" : "not kept"}.`,
        )
      : undefined,
    h(
      "table",
      { class: "grid alignment" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...["Pair", "Cosine before", "after", "Loss barrier before", "after"].map((t) =>
            h("th", { scope: "col" }, t),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        ...a.pairs.map((p) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, `${labelOf(p.a)} · ${labelOf(p.b)}`),
            h("td", { class: "num" }, formatNumber(p.cosineBefore)),
            h("td", { class: "num" }, formatNumber(p.cosineAfter)),
            h("td", { class: "num" }, barrier(p.barrierBefore)),
            h("td", { class: "num" }, barrier(p.barrierAfter)),
          ),
        ),
      ),
    ),
    unitsOf
      ? h(
          "div",
          { class: "row" },
          select(
            "units-of",
            "Compare with its aligned self",
            others.map((o) => [o.path, labelOf(o.path)]),
            unitsOf,
            (v) => {
              state.unitsOf = v;
              persist();
            },
          ),
          h(
            "vscode-button",
            {
              id: "show-unit-moves",
              secondary: true,
              onclick: () => send({ type: "showUnitMoves", ingredient: state.unitsOf ?? unitsOf }),
            },
            "Show Unit Moves",
          ),
        )
      : undefined,
  );
}

/** One bar per tensor: its relative change from the chosen ingredient. */
function layerChart(changes: NonNullable<SavedState["layerChanges"]>): HTMLElement {
  const ns = "http://www.w3.org/2000/svg";
  const rowHeight = 18;
  const labelWidth = 260;
  const barWidth = 360;
  const top = Math.max(1e-12, ...changes.rows.map((r) => r.change));
  const svg = document.createElementNS(ns, "svg");
  const height = rowHeight * changes.rows.length;
  svg.setAttribute("viewBox", `0 0 ${labelWidth + barWidth + 80} ${height}`);
  svg.setAttribute("width", String(labelWidth + barWidth + 80));
  svg.setAttribute("height", String(height));
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `Relative change per tensor of ${changes.model} from ${changes.reference}`);
  changes.rows.forEach((r, i) => {
    const y = i * rowHeight;
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", String(labelWidth - 6));
    label.setAttribute("y", String(y + rowHeight - 5));
    label.setAttribute("text-anchor", "end");
    label.textContent = r.name.length > 40 ? `…${r.name.slice(-39)}` : r.name;
    const bar = document.createElementNS(ns, "rect");
    bar.setAttribute("x", String(labelWidth));
    bar.setAttribute("y", String(y + 3));
    bar.setAttribute("height", String(rowHeight - 6));
    bar.setAttribute("width", String(Math.max(1, (r.change / top) * barWidth)));
    bar.setAttribute("class", "bar");
    const value = document.createElementNS(ns, "text");
    value.setAttribute("x", String(labelWidth + Math.max(1, (r.change / top) * barWidth) + 6));
    value.setAttribute("y", String(y + rowHeight - 5));
    value.textContent = `${(r.change * 100).toFixed(2)}%`;
    svg.append(label, bar, value);
  });
  return h(
    "section",
    { id: "layer-chart", class: "layer-chart", "aria-labelledby": "layer-chart-title" },
    h("h3", { id: "layer-chart-title" }, `Relative change per tensor: ${changes.model} vs ${changes.reference}`),
    svg,
  );
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
  // Everything else describes a panel this page has not built yet; the host's init that follows carries it.
  if (message.type !== "init" && !init) return;
  switch (message.type) {
    case "init": {
      init = message.init;
      const paths = init.ingredients.map((i) => i.path);
      config = restoredConfig(state.config, init.defaults, state.settingBackend);
      state.settingBackend = init.defaults.backend;
      state = { ...state, models: paths, config };
      persist();
      charts = new LearningCharts(init.ingredients.map((_, i) => `#${i + 1}`));
      renderAll();
      charts.add(state.history ?? []);
      return;
    }
    case "dataPreview": {
      const path = message.path;
      state.preview = message.preview;
      state.dataError = message.error;
      if (path !== config!.data?.path) {
        update({ data: { path, ...(config!.data?.label ? { label: config!.data.label } : {}) } });
        (document.getElementById("data-path") as HTMLElement).textContent = path;
      } else {
        clearOutcome();
      }
      renderPreview();
      renderRun();
      persist();
      restoreFocus();
      return;
    }
    case "settings":
      // The modelSoup.backend setting changed: the panel follows it.
      state.settingBackend = message.backend;
      update({ backend: message.backend });
      renderAdvanced();
      return;
    case "job":
      setJob(message.state, message.message);
      return;
    case "progress":
      (state.history ??= []).push(...message.items);
      persist();
      charts?.add(message.items);
      statusLine.textContent = message.text;
      return;
    case "result":
      state.report = message.report;
      state.verdict = message.verdict;
      state.stopReason = message.stopReason;
      if (message.basin !== undefined || !message.report.alignment) state.basin = message.basin;
      persist();
      renderAlign();
      if (!Array.isArray(message.report.coefficients)) charts?.drawHeatmap(message.report.coefficients);
      renderResults();
      resultsBox.scrollIntoView({ behavior: "smooth", block: "start" });
      return;
    case "layerChanges":
      state.layerChanges = { model: message.model, reference: message.reference, rows: message.rows };
      state.diffReference = message.referencePath;
      persist();
      renderResults();
      document.getElementById("layer-chart")?.scrollIntoView({ behavior: "smooth", block: "nearest" });
      return;
    case "saved":
      state.saved = { model: message.model, recipe: message.recipe };
      persist();
      renderResults();
      restoreFocus();
      return;
  }
});

// Charts follow theme changes: VS Code swaps the body's vscode-light / vscode-dark / vscode-high-contrast class.
new MutationObserver(() => charts?.retheme()).observe(document.body, { attributes: true, attributeFilter: ["class"] });

// Focus returns to the control that opened a dialog of the editor (file pickers, the save dialog).
window.addEventListener("focus", restoreFocus);

send({ type: "ready" });
