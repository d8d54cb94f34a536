/** The per-layer change of the merge: one bar per tensor, its relative change from the chosen ingredient. */
import { h } from "./dom.js";
import type { LayerChanges } from "./state.js";

const SVG = "http://www.w3.org/2000/svg";
const ROW_HEIGHT = 18;
const LABEL_WIDTH = 260;
const BAR_WIDTH = 360;

function svgElement(tag: string, attributes: Record<string, string>, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, value);
  if (text !== undefined) el.textContent = text;
  return el;
}

export function layerChart(changes: LayerChanges): HTMLElement {
  const top = Math.max(1e-12, ...changes.rows.map((r) => r.change));
  const height = ROW_HEIGHT * changes.rows.length;
  const width = LABEL_WIDTH + BAR_WIDTH + 80;
  const svg = svgElement("svg", {
    // Follows the panel's width (the viewBox scales it down), never wider than its natural size.
    viewBox: `0 0 ${width} ${height}`,
    preserveAspectRatio: "xMinYMin meet",
    role: "img",
    "aria-label": `Relative change per tensor of ${changes.model} from ${changes.reference}`,
  });
  (svg as SVGElement & ElementCSSInlineStyle).style.maxWidth = `${width}px`;
  changes.rows.forEach((r, i) => {
    const y = i * ROW_HEIGHT;
    const bar = Math.max(1, (r.change / top) * BAR_WIDTH);
    svg.append(
      svgElement(
        "text",
        { x: String(LABEL_WIDTH - 6), y: String(y + ROW_HEIGHT - 5), "text-anchor": "end" },
        r.name.length > 40 ? `…${r.name.slice(-39)}` : r.name,
      ),
      svgElement("rect", {
        x: String(LABEL_WIDTH),
        y: String(y + 3),
        height: String(ROW_HEIGHT - 6),
        width: String(bar),
        class: "bar",
      }),
      svgElement(
        "text",
        { x: String(LABEL_WIDTH + bar + 6), y: String(y + ROW_HEIGHT - 5) },
        `${(r.change * 100).toFixed(2)}%`,
      ),
    );
  });
  return h(
    "section",
    { id: "layer-chart", class: "layer-chart", "aria-labelledby": "layer-chart-title" },
    h("h3", { id: "layer-chart-title" }, `Relative change per tensor: ${changes.model} vs ${changes.reference}`),
    svg,
  );
}
