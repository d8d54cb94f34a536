/**
 * The coefficient sweep's plot: the validation metric (and loss) of a fixed merge at each tried value of its λ, t or
 * a model's weight, the value with the lowest validation loss marked. A small SVG that follows the panel's width.
 */
import type { SweepReport } from "../src/protocol/worker.js";
import { formatNumber, h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

export function sweepChart(sweep: SweepReport, label: string, metricName: string): HTMLElement {
  const width = 360;
  const height = 160;
  const pad = { left: 44, right: 12, top: 12, bottom: 34 };
  const xs = sweep.points.map((p) => p.value);
  const ys = sweep.points.map((p) => p.metric);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y1 - y0 < 1e-9) [y0, y1] = [y0 - 0.01, y1 + 0.01];
  const px = (x: number) => pad.left + ((x - x0) / (x1 - x0 || 1)) * (width - pad.left - pad.right);
  const py = (y: number) => height - pad.bottom - ((y - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);
  const plot = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": `Validation ${metricName} against ${label}`,
    class: "sweep-plot",
  });
  plot.append(
    svg("line", {
      x1: pad.left,
      y1: height - pad.bottom,
      x2: width - pad.right,
      y2: height - pad.bottom,
      class: "axis",
    }),
    svg("line", { x1: pad.left, y1: pad.top, x2: pad.left, y2: height - pad.bottom, class: "axis" }),
    svg("text", { x: pad.left - 4, y: py(y1) + 4, "text-anchor": "end", class: "tick" }, formatNumber(y1, 3)),
    svg("text", { x: pad.left - 4, y: py(y0) + 4, "text-anchor": "end", class: "tick" }, formatNumber(y0, 3)),
    svg("polyline", {
      points: sweep.points.map((p) => `${px(p.value)},${py(p.metric)}`).join(" "),
      class: "sweep-line",
      fill: "none",
    }),
    svg(
      "text",
      { x: (pad.left + width - pad.right) / 2, y: height - 4, "text-anchor": "middle", class: "tick" },
      label,
    ),
  );
  for (const p of sweep.points) {
    const best = p.value === sweep.best;
    plot.append(
      svg("circle", { cx: px(p.value), cy: py(p.metric), r: best ? 5 : 3, class: best ? "sweep-best" : "sweep-point" }),
      svg(
        "text",
        { x: px(p.value), y: height - pad.bottom + 14, "text-anchor": "middle", class: "tick" },
        String(p.value),
      ),
    );
  }
  const rows = sweep.points.map((p) =>
    h(
      "tr",
      { class: p.value === sweep.best ? "best" : "" },
      h("td", { class: "num" }, String(p.value)),
      h("td", { class: "num" }, formatNumber(p.metric)),
      h("td", { class: "num" }, formatNumber(p.loss)),
    ),
  );
  return h(
    "figure",
    { id: "sweep", class: "sweep" },
    plot,
    h(
      "figcaption",
      {},
      `Validation ${metricName} at each ${label} tried (the split the test rows stay out of); the lowest validation loss at ${label} = ${sweep.best} (larger dot).`,
    ),
    h(
      "table",
      { class: "grid", id: "sweep-table" },
      h(
        "thead",
        {},
        h("tr", {}, ...[label, `Validation ${metricName}`, "Validation loss"].map((t) => h("th", { scope: "col" }, t))),
      ),
      h("tbody", {}, ...rows),
    ),
  );
}
