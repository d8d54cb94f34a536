/**
 * The model viewer (runs in the webview of the read-only custom editor): the model's format, size, layers and
 * tensors from its headers; the statistics of its tensors when the user asks (computed in the worker).
 */
import "@vscode-elements/elements/dist/vscode-button/index.js";
import "@vscode-elements/elements/dist/vscode-progress-ring/index.js";
import { formatModelShape } from "../src/protocol/model-shape.js";
import type { FromViewer, ToViewer, ViewerInit } from "../src/protocol/viewer.js";
import type { TensorDistributionLine } from "../src/protocol/worker.js";
import { formatNumber, h, present } from "./dom.js";

declare function acquireVsCodeApi(): { postMessage(message: FromViewer): void };
const vscode = acquireVsCodeApi();
const root = document.getElementById("model-soup-viewer")!;
let init: ViewerInit | undefined;
const stats = new Map<string, TensorDistributionLine>();
let computing = false;
let statsError: string | undefined;

const count = (n: number) => n.toLocaleString("en-US");
/** A model's shapes as the core's messages write them: "[batch, 28, 28, 1]", "any" for another open axis. */
const shapeText = formatModelShape;

function bytesText(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} bytes`;
}

/** A small bar chart of a histogram, drawn with the theme's foreground colour. */
function histogram(counts: readonly number[], label: string): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  const width = 120;
  const height = 24;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  svg.setAttribute("class", "histogram");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const top = Math.max(1, ...counts);
  const w = width / Math.max(1, counts.length);
  counts.forEach((c, i) => {
    const bar = document.createElementNS(ns, "rect");
    const barHeight = c === 0 ? 0 : Math.max(1, (c / top) * height);
    bar.setAttribute("x", String(i * w));
    bar.setAttribute("y", String(height - barHeight));
    bar.setAttribute("width", String(Math.max(1, w - 1)));
    bar.setAttribute("height", String(barHeight));
    svg.append(bar);
  });
  return svg;
}

function render(): void {
  const m = init!;
  if (m.error) {
    root.replaceChildren(
      h("h1", {}, m.fileName),
      h("p", { class: "notice error", role: "alert", id: "viewer-error" }, m.error),
    );
    return;
  }
  const group = m.group;
  const groupBox = h(
    "section",
    { "aria-labelledby": "group-title", id: "group" },
    h("h2", { id: "group-title" }, "Compatibility"),
    group
      ? h(
          "p",
          {},
          group.merge
            ? `A ${group.merge.origin} merge of ${group.merge.ingredients.join(", ")}, of the group `
            : "One of the group ",
          h("strong", {}, group.label),
          ".",
        )
      : m.alone
        ? h("p", { id: "alone" }, h("strong", {}, "No compatible partner: "), `${m.alone}.`)
        : h(
            "p",
            {},
            "No other model in the workspace shares this architecture (or the workspace scan has not listed it).",
          ),
    group?.matchedTo !== undefined
      ? h(
          "p",
          { id: "matched-by-structure" },
          `Matched by structure: its tensor names differ from ${group.matchedTo}'s; the Tensors table gives each one's counterpart (“= name”).`,
        )
      : undefined,
    h(
      "vscode-button",
      { id: "merge-with", onclick: () => vscode.postMessage({ type: "mergeWith" }) },
      group?.mergeable
        ? `Merge with the ${group.models.length} models of its group…`
        : m.alone
          ? "Merge with… (no group can take it)"
          : "Merge with…",
    ),
    h(
      "div",
      { class: "row" },
      h(
        "vscode-button",
        { id: "compare-with", secondary: true, onclick: () => vscode.postMessage({ type: "compareWith" }) },
        "Compare with…",
      ),
      h("span", { class: "note" }, "Another model's difference from this one, tensor by tensor."),
    ),
  );
  const layers = m.layers.length
    ? h(
        "section",
        { "aria-labelledby": "layers-title" },
        h("h2", { id: "layers-title" }, `Layers (${m.layers.length}${m.modelClass ? `, ${m.modelClass}` : ""})`),
        h(
          "table",
          { class: "grid", id: "layers" },
          h(
            "thead",
            {},
            h("tr", {}, ...["Layer", "Class", "Output shape", "Parameters"].map((t) => h("th", { scope: "col" }, t))),
          ),
          h(
            "tbody",
            {},
            ...m.layers.map((l) =>
              h(
                "tr",
                {},
                h("th", { scope: "row", title: l.inbound.length ? `← ${l.inbound.join(", ")}` : "" }, l.name),
                h("td", {}, l.className),
                h("td", { class: "mono" }, l.outputShape ? shapeText(l.outputShape) : "—"),
                h("td", { class: "num" }, count(l.parameters)),
              ),
            ),
          ),
        ),
        h(
          "p",
          { class: "note" },
          "Output shapes come from the layers' settings: batch is any number of samples; any is a size only running the model would tell (after a layer whose shape rules are not known here).",
        ),
      )
    : h("p", { class: "note" }, "This file holds tensors only: it records no architecture.");
  const statsButton = h(
    "vscode-button",
    { id: "compute-stats", secondary: stats.size > 0, disabled: computing, onclick: computeAll },
    stats.size > 0 ? "Recompute Statistics" : "Compute Statistics",
  );
  const tensors = h(
    "section",
    { "aria-labelledby": "tensors-title" },
    h("h2", { id: "tensors-title" }, `Tensors (${m.tensors.length})`),
    h(
      "div",
      { class: "row" },
      statsButton,
      computing ? h("vscode-progress-ring", { "aria-label": "Computing" }) : undefined,
      h(
        "span",
        { class: "note" },
        "Reads every tensor's values in the worker: mean, standard deviation, range and a histogram.",
      ),
    ),
    statsError ? h("p", { class: "notice error", role: "alert" }, statsError) : undefined,
    h(
      "table",
      { class: "grid", id: "tensors" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...["Tensor", "Shape", "Dtype", "Parameters", "Mean", "Std", "Min", "Max", "Histogram"].map((t) =>
            h("th", { scope: "col" }, t),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        ...m.tensors.map((t) => {
          const s = stats.get(t.name);
          return h(
            "tr",
            {},
            h(
              "th",
              { scope: "row", class: "mono", ...(t.readableName ? { title: `stored as ${t.name}` } : {}) },
              t.readableName ?? t.name,
              t.matches ? h("span", { class: "note" }, ` = ${t.matches}`) : undefined,
            ),
            h("td", { class: "mono" }, shapeText(t.shape)),
            h("td", {}, t.dtype),
            h("td", { class: "num" }, count(t.parameters)),
            h("td", { class: "num" }, s ? formatNumber(s.mean) : ""),
            h("td", { class: "num" }, s ? formatNumber(s.std) : ""),
            h("td", { class: "num" }, s ? formatNumber(s.min) : ""),
            h("td", { class: "num" }, s ? formatNumber(s.max) : ""),
            h(
              "td",
              {},
              s
                ? histogram(s.histogram, `Histogram of ${t.name} from ${formatNumber(s.min)} to ${formatNumber(s.max)}`)
                : "",
              s && s.nonFinite > 0 ? h("span", { class: "error" }, ` ${s.nonFinite} non-finite`) : undefined,
            ),
          );
        }),
      ),
    ),
  );
  const metadata = m.metadata.length
    ? h(
        "section",
        { "aria-labelledby": "metadata-title" },
        h("h2", { id: "metadata-title" }, "Metadata"),
        h(
          "table",
          { class: "grid", id: "metadata" },
          h(
            "tbody",
            {},
            ...m.metadata.map(([k, v]) =>
              h("tr", {}, h("th", { scope: "row" }, k), h("td", { class: "mono wrap" }, v)),
            ),
          ),
        ),
      )
    : undefined;
  root.replaceChildren(
    ...present(
      h("h1", {}, m.fileName),
      h(
        "p",
        { id: "summary" },
        `${m.format} · ${count(m.parameters)} parameters in ${m.tensors.length} tensors · ${bytesText(m.bytes)}${m.layers.length ? ` · ${m.architectureName}` : ""}`,
      ),
      h("p", { class: "note path" }, m.path),
      ...m.warnings.map((w) => h("p", { class: "notice warning" }, w)),
      groupBox,
      layers,
      tensors,
      metadata,
      m.files.length > 1
        ? h("section", {}, h("h2", {}, "Files"), h("ul", {}, ...m.files.map((f) => h("li", { class: "mono" }, f))))
        : undefined,
    ),
  );
}

function computeAll(): void {
  computing = true;
  statsError = undefined;
  render();
  vscode.postMessage({ type: "computeStats" });
}

window.addEventListener("message", (event: MessageEvent<ToViewer>) => {
  const message = event.data;
  switch (message.type) {
    case "init":
      init = message.init;
      render();
      return;
    case "stats":
      computing = false;
      for (const t of message.tensors) stats.set(t.name, t);
      render();
      return;
    case "statsFailed":
      computing = false;
      statsError = message.message;
      render();
      return;
  }
});

vscode.postMessage({ type: "ready" });
