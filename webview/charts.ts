/**
 * The live learning charts: loss (learn and validation) and coefficients per ingredient over steps, with
 * uPlot (bundled), and for layer granularity a heatmap of layer × ingredient drawn on a canvas.
 */
import uPlot from "uplot";
import type { Coefficients, ProgressParams } from "../src/protocol/worker.js";
import { formatNumber, h, themeColor } from "./dom.js";

const PALETTE = [
  "--vscode-charts-blue",
  "--vscode-charts-orange",
  "--vscode-charts-green",
  "--vscode-charts-purple",
  "--vscode-charts-red",
  "--vscode-charts-yellow",
];
const FALLBACK = ["#3794ff", "#d18616", "#89d185", "#b180d7", "#f14c4c", "#cca700"];

function color(i: number): string {
  return themeColor(PALETTE[i % PALETTE.length]!, FALLBACK[i % FALLBACK.length]!);
}

/** One value per ingredient: the model-level coefficients, or the mean over layers for layer granularity. */
export function perIngredient(c: Coefficients | undefined, n: number): number[] {
  if (!c) return new Array(n).fill(NaN);
  if (Array.isArray(c)) return c;
  const layers = Object.values(c);
  return Array.from({ length: n }, (_, i) => layers.reduce((s, l) => s + (l[i] ?? 0), 0) / Math.max(1, layers.length));
}

/** Steps are whole numbers: the x axis only ticks at integers. */
const STEP_INCREMENTS = [
  1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000, 100000,
];

/** The chart's axes; the step labels drawn are also written to `box` (data-step-labels) for the walk-through to read. */
function axisOptions(box: HTMLElement): uPlot.Axis[] {
  const stroke = themeColor("--vscode-foreground", "#ccc");
  const grid = { stroke: themeColor("--vscode-editorWidget-border", "#444"), width: 0.5 };
  const stepLabels = (_u: uPlot, splits: number[]) => {
    const labels = splits.map((v) => (Number.isInteger(v) ? String(v) : ""));
    box.dataset.stepLabels = labels.filter((l) => l !== "").join(",");
    return labels;
  };
  return [
    { stroke, grid, ticks: grid, label: "step", incrs: STEP_INCREMENTS, values: stepLabels },
    { stroke, grid, ticks: grid },
  ];
}

export class LearningCharts {
  readonly element: HTMLElement;
  private loss: uPlot | undefined;
  private coefficients: uPlot | undefined;
  private readonly lossBox = h("div", { class: "chart", role: "img", "aria-label": "Loss over steps" });
  private readonly coefBox = h("div", { class: "chart", role: "img", "aria-label": "Coefficients over steps" });
  private readonly heatmap = h("canvas", {
    class: "heatmap",
    role: "img",
    "aria-label": "Coefficient per layer and ingredient",
  });
  private readonly heatmapBox = h(
    "div",
    { class: "heatmap-box", hidden: true },
    h("h3", {}, "Coefficients by layer"),
    this.heatmap,
  );
  private steps: number[] = [];
  private train: (number | null)[] = [];
  private validation: (number | null)[] = [];
  private coefs: number[][] = [];
  private lastHeatmap: Record<string, number[]> | undefined;

  constructor(private readonly ingredients: string[]) {
    this.element = h(
      "div",
      { class: "charts", hidden: true },
      h("div", {}, h("h3", {}, "Loss"), this.lossBox),
      h("div", {}, h("h3", {}, "Coefficients"), this.coefBox),
      this.heatmapBox,
    );
    this.coefs = ingredients.map(() => []);
  }

  /** Redraws with the current theme's colours (the webview's body class changes with the theme). */
  retheme(): void {
    this.loss?.destroy();
    this.coefficients?.destroy();
    this.loss = this.coefficients = undefined;
    if (this.steps.length > 0) this.draw();
    if (this.lastHeatmap) this.drawHeatmap(this.lastHeatmap);
  }

  reset(): void {
    this.lastHeatmap = undefined;
    this.steps = [];
    this.train = [];
    this.validation = [];
    this.coefs = this.ingredients.map(() => []);
    this.loss?.destroy();
    this.coefficients?.destroy();
    this.loss = this.coefficients = undefined;
    this.heatmapBox.hidden = true;
    this.element.hidden = true;
  }

  /** Adds progress steps and draws the charts once (the heatmap from the last step that has layer coefficients). */
  add(items: readonly ProgressParams[]): void {
    let layered: ProgressParams["coefficients"];
    for (const p of items) {
      if (p.phase !== "learning" || (p.trainLoss === undefined && p.validationLoss === undefined)) continue;
      this.steps.push(p.step);
      this.train.push(p.trainLoss ?? null);
      this.validation.push(p.validationLoss ?? null);
      const values = perIngredient(p.coefficients, this.ingredients.length);
      this.coefs.forEach((series, i) => series.push(values[i] ?? NaN));
      if (p.coefficients && !Array.isArray(p.coefficients)) layered = p.coefficients;
    }
    if (this.steps.length === 0) return;
    this.element.hidden = false;
    this.draw();
    if (layered && !Array.isArray(layered)) this.drawHeatmap(layered);
  }

  private width(): number {
    return Math.max(260, Math.min(560, (this.element.clientWidth || 600) / 2 - 24));
  }

  private draw(): void {
    const lossData: uPlot.AlignedData = [this.steps, this.train, this.validation];
    const coefData: uPlot.AlignedData = [this.steps, ...this.coefs];
    if (!this.loss) {
      this.loss = new uPlot(
        {
          width: this.width(),
          height: 200,
          scales: { x: { time: false } },
          axes: axisOptions(this.lossBox),
          legend: { show: true },
          series: [
            { label: "step" },
            { label: "learn", stroke: color(0), width: 2 },
            { label: "validation", stroke: color(1), width: 2 },
          ],
        },
        lossData,
        this.lossBox,
      );
      this.coefficients = new uPlot(
        {
          width: this.width(),
          height: 200,
          scales: { x: { time: false } },
          axes: axisOptions(this.coefBox),
          series: [
            { label: "step" },
            ...this.ingredients.map((name, i) => ({ label: name, stroke: color(i), width: 2 })),
          ],
        },
        coefData,
        this.coefBox,
      );
    } else {
      this.loss.setData(lossData);
      this.coefficients!.setData(coefData);
    }
    // Which theme the charts were drawn for (they are redrawn when it changes).
    this.element.dataset.theme =
      ["vscode-high-contrast-light", "vscode-high-contrast", "vscode-light", "vscode-dark"].find((c) =>
        document.body.classList.contains(c),
      ) ?? "";
    const last = this.steps.length - 1;
    this.lossBox.setAttribute(
      "aria-label",
      `Loss at step ${this.steps[last]}: learn ${formatNumber(this.train[last] ?? undefined)}, validation ${formatNumber(this.validation[last] ?? undefined)}`,
    );
    this.coefBox.setAttribute(
      "aria-label",
      `Coefficients at step ${this.steps[last]}: ${this.ingredients.map((n, i) => `${n} ${formatNumber(this.coefs[i]![last], 3)}`).join(", ")}`,
    );
  }

  drawHeatmap(c: Record<string, number[]>): void {
    const layers = Object.keys(c);
    if (layers.length === 0) return;
    this.lastHeatmap = c;
    this.element.hidden = false;
    this.heatmapBox.hidden = false;
    const cell = { w: 56, h: 18 };
    const labelWidth = Math.min(220, 8 + 7 * Math.max(...layers.map((l) => l.length)));
    const canvas = this.heatmap;
    const ratio = window.devicePixelRatio || 1;
    const width = labelWidth + cell.w * this.ingredients.length;
    const height = cell.h * (layers.length + 1);
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    const g = canvas.getContext("2d")!;
    g.scale(ratio, ratio);
    const all = layers.flatMap((l) => c[l]!);
    const max = Math.max(1e-9, ...all.map(Math.abs));
    const fg = themeColor("--vscode-foreground", "#ccc");
    const font = themeColor("--vscode-font-family", "sans-serif");
    g.font = `11px ${font}`;
    g.textBaseline = "middle";
    g.fillStyle = fg;
    this.ingredients.forEach((_, i) => g.fillText(`#${i + 1}`, labelWidth + i * cell.w + 4, cell.h / 2));
    layers.forEach((layer, row) => {
      const y = (row + 1) * cell.h;
      g.fillStyle = fg;
      g.fillText(layer.length > 30 ? "…" + layer.slice(-29) : layer, 2, y + cell.h / 2);
      c[layer]!.forEach((v, i) => {
        const x = labelWidth + i * cell.w;
        const alpha = Math.abs(v) / max;
        g.fillStyle = v >= 0 ? `rgba(55, 148, 255, ${alpha})` : `rgba(241, 76, 76, ${alpha})`;
        g.fillRect(x, y, cell.w - 2, cell.h - 2);
        g.fillStyle = fg;
        g.fillText(v.toFixed(2), x + 4, y + cell.h / 2);
      });
    });
    canvas.setAttribute(
      "aria-label",
      `Coefficients by layer: ${layers.map((l) => `${l}: ${c[l]!.map((v) => v.toFixed(2)).join(" / ")}`).join("; ")}`,
    );
  }
}
