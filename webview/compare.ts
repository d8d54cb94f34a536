/**
 * The Compare Models view (runs in its webview): two model files side by side, one row per tensor. The host sends
 * the comparison the worker computed; the sort order survives the page being reloaded (getState/setState).
 */
import "@vscode-elements/elements/dist/vscode-button/index.js";
import "@vscode-elements/elements/dist/vscode-progress-ring/index.js";
import type { CompareInit, FromCompare, ToCompare } from "../src/protocol/compare.js";
import { formatNumber, h, present } from "./dom.js";
import { swatch } from "./compare-histogram.js";
import { comparisonTable, nextSort, type Sort, type SortKey } from "./compare-table.js";

interface SavedState {
  sort: Sort;
}

declare function acquireVsCodeApi(): {
  postMessage(message: FromCompare): void;
  getState(): SavedState | undefined;
  setState(state: SavedState): void;
};
const vscode = acquireVsCodeApi();
const root = document.getElementById("model-soup-compare")!;
let init: CompareInit | undefined;
let sort: Sort = vscode.getState()?.sort ?? { key: "order", descending: false };

function side(which: "a" | "b", label: string, path: string): HTMLElement {
  return h(
    "div",
    { class: "side", id: `side-${which}` },
    swatch(which),
    h("strong", {}, `${which.toUpperCase()}: `),
    h("span", { class: "label" }, label),
    h(
      "vscode-button",
      { secondary: true, id: `open-${which}`, onclick: () => vscode.postMessage({ type: "open", side: which }) },
      `Open ${which.toUpperCase()}`,
    ),
    h("p", { class: "note path" }, path),
  );
}

function summary(m: CompareInit): HTMLElement | undefined {
  const c = m.comparison;
  if (!c) return undefined;
  const byStructure = c.matchedBy === "structure";
  return h(
    "section",
    { id: "summary", "aria-labelledby": "summary-title" },
    h("h2", { id: "summary-title" }, "Overall"),
    h(
      "p",
      { id: "matched" },
      `${c.tensors.length} tensors matched by ${byStructure ? "structure" : "name"}`,
      byStructure
        ? " (the files name their tensors differently: they are paired layer by layer, in order; each row gives both names)"
        : "",
      ` · ${c.identical} identical`,
    ),
    h(
      "dl",
      { class: "figures" },
      h("dt", {}, "Relative difference"),
      h("dd", { id: "overall-difference" }, formatNumber(c.overall.relativeDifference ?? undefined)),
      h("dt", {}, "Cosine"),
      h("dd", { id: "overall-cosine" }, formatNumber(c.overall.cosine ?? undefined)),
      h("dt", {}, "Max |Δ|"),
      h("dd", {}, formatNumber(c.overall.maxAbsDifference ?? undefined)),
    ),
    h("p", { class: "note" }, "All tensors taken as one vector. A is the reference of the relative difference."),
  );
}

function onSort(key: SortKey): void {
  sort = nextSort(sort, key);
  vscode.setState({ sort });
  render();
  document.getElementById(`sort-${key}`)?.focus();
}

function tensors(m: CompareInit): HTMLElement | undefined {
  const c = m.comparison;
  if (!c) return undefined;
  return h(
    "section",
    { "aria-labelledby": "tensors-title" },
    h("h2", { id: "tensors-title" }, `Tensors (${c.tensors.length})`),
    h(
      "div",
      { class: "row legend" },
      h("span", {}, swatch("a"), ` A ${m.a.label}`),
      h("span", {}, swatch("b"), ` B ${m.b.label}`),
      h(
        "span",
        { class: "note" },
        "Histograms: both files over the same bins, from the smaller minimum to the larger maximum.",
      ),
      sort.key !== "order"
        ? h("vscode-button", { secondary: true, id: "file-order", onclick: () => onSort("order") }, "File order")
        : undefined,
    ),
    h("div", { class: "table-box" }, comparisonTable(c, sort, onSort)),
  );
}

function render(): void {
  const m = init;
  if (!m) return;
  document.title = `Compare ${m.a.label} and ${m.b.label}`;
  root.replaceChildren(
    ...present(
      h("h1", {}, "Compare Models"),
      h(
        "div",
        { class: "sides" },
        side("a", m.a.label, m.a.path),
        side("b", m.b.label, m.b.path),
        h(
          "vscode-button",
          {
            secondary: true,
            id: "swap",
            disabled: m.state === "computing",
            onclick: () => vscode.postMessage({ type: "swap" }),
          },
          "Swap A and B",
        ),
      ),
      m.state === "computing"
        ? h(
            "p",
            { class: "row", id: "computing" },
            h("vscode-progress-ring", { "aria-label": "Comparing" }),
            "Reading both files tensor by tensor in the worker…",
          )
        : undefined,
      m.state === "failed"
        ? h("p", { class: "notice error", role: "alert", id: "compare-error" }, m.error ?? "")
        : undefined,
      summary(m),
      tensors(m),
    ),
  );
}

window.addEventListener("message", (event: MessageEvent<ToCompare>) => {
  if (event.data.type !== "init") return;
  init = event.data.init;
  render();
});

vscode.postMessage({ type: "ready" });
