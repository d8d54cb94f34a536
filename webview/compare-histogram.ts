/** Both files' histograms of one tensor over the same bins: A and B side by side in each bin, one count scale. */
import { formatNumber } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 120;
const HEIGHT = 28;

function rect(x: number, y: number, width: number, height: number, cls: string): SVGRectElement {
  const bar = document.createElementNS(SVG, "rect");
  bar.setAttribute("x", x.toFixed(2));
  bar.setAttribute("y", y.toFixed(2));
  bar.setAttribute("width", width.toFixed(2));
  bar.setAttribute("height", height.toFixed(2));
  bar.setAttribute("class", cls);
  return bar;
}

export function pairedHistogram(
  a: readonly number[],
  b: readonly number[],
  range: { min: number; max: number },
  tensor: string,
): SVGSVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute("width", String(WIDTH));
  svg.setAttribute("height", String(HEIGHT));
  svg.setAttribute("class", "paired-histogram");
  svg.setAttribute("role", "img");
  svg.setAttribute(
    "aria-label",
    `Histograms of ${tensor} from ${formatNumber(range.min)} to ${formatNumber(range.max)}: A ${a.join(" ")}; B ${b.join(" ")}`,
  );
  const bins = Math.max(a.length, b.length, 1);
  const top = Math.max(1, ...a, ...b);
  const slot = WIDTH / bins;
  const bar = Math.max(0.5, (slot - 1) / 2);
  const height = (count: number) => (count === 0 ? 0 : Math.max(1, (count / top) * HEIGHT));
  for (let i = 0; i < bins; i++) {
    const ha = height(a[i] ?? 0);
    const hb = height(b[i] ?? 0);
    if (ha > 0) svg.append(rect(i * slot, HEIGHT - ha, bar, ha, "bar-a"));
    if (hb > 0) svg.append(rect(i * slot + bar, HEIGHT - hb, bar, hb, "bar-b"));
  }
  const title = document.createElementNS(SVG, "title");
  title.textContent = `${formatNumber(range.min)} … ${formatNumber(range.max)}`;
  svg.prepend(title);
  return svg;
}

/** The legend's colour swatch for side A or B. */
export function swatch(side: "a" | "b"): SVGSVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("width", "10");
  svg.setAttribute("height", "10");
  svg.setAttribute("aria-hidden", "true");
  svg.append(rect(0, 0, 10, 10, side === "a" ? "bar-a" : "bar-b"));
  return svg;
}
