/**
 * Layer granularity: the kept coefficient of each ingredient (column) in each layer (row) as a heat map on a
 * canvas, with a line that says what the cells are. It fits the width it is given (cells shrink to 28 px).
 */
import { h, themeColor } from "./dom.js";

export class CoefficientHeatmap {
  private readonly canvas = h("canvas", {
    class: "heatmap",
    role: "img",
    "aria-label": "Coefficient per layer and ingredient",
  });
  readonly element = h(
    "div",
    { class: "heatmap-box", hidden: true, id: "coefficient-heatmap" },
    h("h3", {}, "Coefficients by layer"),
    h(
      "p",
      { class: "note", id: "heatmap-caption" },
      "Each cell is the weight one ingredient (column) gets in one layer (row) of the kept soup: blue positive, red negative, the stronger the larger. The chart above shows their mean over the layers.",
    ),
    this.canvas,
  );
  private last: Record<string, number[]> | undefined;

  constructor(private readonly ingredients: readonly string[]) {}

  reset(): void {
    this.last = undefined;
    this.element.hidden = true;
  }

  redraw(): void {
    if (this.last) this.draw(this.last);
  }

  draw(c: Record<string, number[]>): void {
    const layers = Object.keys(c);
    if (layers.length === 0) return;
    this.last = c;
    this.element.hidden = false;
    const labelWidth = Math.min(180, 8 + 7 * Math.max(...layers.map((l) => l.length)));
    const available = (this.element.clientWidth || 600) - 4;
    const cell = {
      w: Math.max(28, Math.min(56, Math.floor((available - labelWidth) / this.ingredients.length))),
      h: 18,
    };
    const ratio = window.devicePixelRatio || 1;
    const width = labelWidth + cell.w * this.ingredients.length;
    const height = cell.h * (layers.length + 1);
    const canvas = this.canvas;
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    const g = canvas.getContext("2d")!;
    g.scale(ratio, ratio);
    const max = Math.max(1e-9, ...layers.flatMap((l) => c[l]!).map(Math.abs));
    const fg = themeColor("--vscode-foreground", "#ccc");
    g.font = `11px ${themeColor("--vscode-font-family", "sans-serif")}`;
    g.textBaseline = "middle";
    g.fillStyle = fg;
    this.ingredients.forEach((_, i) => g.fillText(`#${i + 1}`, labelWidth + i * cell.w + 4, cell.h / 2));
    const chars = Math.floor(labelWidth / 7);
    layers.forEach((layer, row) => {
      const y = (row + 1) * cell.h;
      g.fillStyle = fg;
      g.fillText(layer.length > chars ? "…" + layer.slice(-(chars - 1)) : layer, 2, y + cell.h / 2);
      c[layer]!.forEach((v, i) => {
        const x = labelWidth + i * cell.w;
        const alpha = Math.abs(v) / max;
        g.fillStyle = v >= 0 ? `rgba(55, 148, 255, ${alpha})` : `rgba(241, 76, 76, ${alpha})`;
        g.fillRect(x, y, cell.w - 2, cell.h - 2);
        g.fillStyle = fg;
        g.fillText(v.toFixed(cell.w >= 40 ? 2 : 1), x + 3, y + cell.h / 2);
      });
    });
    canvas.setAttribute(
      "aria-label",
      `Coefficients by layer (columns ${this.ingredients.join(", ")}): ${layers.map((l) => `${l}: ${c[l]!.map((v) => v.toFixed(2)).join(" / ")}`).join("; ")}`,
    );
  }
}
