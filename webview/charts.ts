/**
 * The learning charts: loss (learn and validation) and coefficients per ingredient over steps, with uPlot
 * (bundled). Once the run ended both mark the kept step (and the refit that followed), and the coefficient chart
 * ends in the kept coefficients. Each chart has a fixed legend (names and colours, never "--") and one readout line
 * of fixed height for the hovered step; both follow the panel's width (ResizeObserver). What they draw is computed
 * in chart-data.ts; layer granularity adds the heat map of heatmap.ts.
 */
import uPlot from "uplot";
import type { ProgressParams, SoupReport } from "../src/protocol/worker.js";
import {
  coefficientPath,
  keptMarks,
  learningSteps,
  seriesStyle,
  type KeptMarks,
  type SeriesStyle,
} from "./chart-data.js";
import { breakable, formatNumber, h, themeColor } from "./dom.js";
import { CoefficientHeatmap } from "./heatmap.js";

const HEIGHT = 200;

function resolved(style: SeriesStyle): string {
  return style.variable ? themeColor(style.variable, style.color) : style.color;
}

/** Steps are whole numbers: the x axis only ticks at integers. */
const STEP_INCREMENTS = [
  1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000, 100000,
];

/** The chart's axes; the step labels drawn are also written to `box` (data-step-labels) for the walk-through to read. */
function axisOptions(box: HTMLElement, endStep: () => number | undefined): uPlot.Axis[] {
  const stroke = themeColor("--vscode-foreground", "#ccc");
  const grid = { stroke: themeColor("--vscode-editorWidget-border", "#444"), width: 0.5 };
  const stepLabels = (_u: uPlot, splits: number[]) => {
    const end = endStep();
    const labels = splits.map((v) =>
      end !== undefined && v > end - 0.5 * (end / 11) ? "" : Number.isInteger(v) ? String(v) : "",
    );
    box.dataset.stepLabels = labels.filter((l) => l !== "").join(",");
    return labels;
  };
  return [
    { stroke, grid, ticks: grid, label: "step", incrs: STEP_INCREMENTS, values: stepLabels },
    { stroke, grid, ticks: grid },
  ];
}

/** A legend entry: a swatch drawn like the series' line, and its name. */
function legendItem(name: string, style: SeriesStyle, value?: string): HTMLElement {
  // Styled through the CSSOM: the panel's CSP refuses style attributes.
  const swatch = h("span", { class: "swatch" });
  swatch.style.borderTop = `3px ${style.dash ? (style.dash[0]! > 3 ? "dashed" : "dotted") : "solid"} ${resolved(style)}`;
  return h(
    "li",
    {},
    swatch,
    h("span", { class: "legend-name" }, breakable(name)),
    value !== undefined ? h("span", { class: "legend-value" }, value) : undefined,
  );
}

/** Draws the kept step (and the end state's column) as labelled vertical lines. */
function markerHook(marks: () => { x: number; text: string }[]) {
  return (u: uPlot) => {
    const g = u.ctx;
    const ratio = window.devicePixelRatio || 1;
    g.save();
    // Neutral, so the marker is never taken for an orange or yellow series.
    g.strokeStyle = themeColor("--vscode-charts-foreground", "#ccc");
    g.fillStyle = themeColor("--vscode-foreground", "#ccc");
    g.lineWidth = 1.5 * ratio;
    g.setLineDash([4 * ratio, 3 * ratio]);
    g.font = `${11 * ratio}px ${themeColor("--vscode-font-family", "sans-serif")}`;
    g.textBaseline = "top";
    for (const { x, text } of marks()) {
      const px = u.valToPos(x, "x", true);
      if (!Number.isFinite(px)) continue;
      g.beginPath();
      g.moveTo(px, u.bbox.top);
      g.lineTo(px, u.bbox.top + u.bbox.height);
      g.stroke();
      const w = g.measureText(text).width;
      const left = px + w + 4 * ratio > u.bbox.left + u.bbox.width ? px - w - 4 * ratio : px + 4 * ratio;
      g.fillText(text, left, u.bbox.top + 2 * ratio);
    }
    g.restore();
  };
}

export class LearningCharts {
  readonly element: HTMLElement;
  private loss: uPlot | undefined;
  private coefficients: uPlot | undefined;
  private readonly lossBox = h("div", { class: "chart", role: "img", "aria-label": "Loss over steps" });
  private readonly coefBox = h("div", { class: "chart", role: "img", "aria-label": "Coefficients over steps" });
  private readonly lossLegend = h("ul", { class: "legend", id: "loss-legend" });
  private readonly coefLegend = h("ul", { class: "legend", id: "coefficient-legend" });
  private readonly lossReadout = h("p", { class: "readout", id: "loss-readout" });
  private readonly coefReadout = h("p", { class: "readout", id: "coefficient-readout" });
  private readonly lossKept = h("p", { class: "kept-mark", id: "loss-kept", hidden: true });
  private readonly coefKept = h("p", { class: "kept-mark", id: "coefficient-kept", hidden: true });
  private readonly coefTitle = h("h3", {}, "Coefficients");
  private readonly heatmap: CoefficientHeatmap;
  private readonly resize = new ResizeObserver(() => this.fit());
  private history: ProgressParams[] = [];
  private kept: KeptMarks | undefined;
  private layered = false;

  constructor(private readonly ingredients: string[]) {
    this.heatmap = new CoefficientHeatmap(ingredients);
    const cell = (...children: HTMLElement[]) => h("div", { class: "chart-cell" }, ...children);
    this.element = h(
      "div",
      { class: "charts", hidden: true },
      cell(h("h3", {}, "Loss"), this.lossLegend, this.lossBox, this.lossReadout, this.lossKept),
      cell(this.coefTitle, this.coefLegend, this.coefBox, this.coefReadout, this.coefKept),
      this.heatmap.element,
    );
    this.resize.observe(this.element);
  }

  /** Redraws with the current theme's colours (the webview's body class changes with the theme). */
  retheme(): void {
    this.destroy();
    this.draw();
    this.heatmap.redraw();
  }

  reset(): void {
    this.history = [];
    this.kept = undefined;
    this.layered = false;
    this.destroy();
    this.heatmap.reset();
    this.element.hidden = true;
  }

  /** Adds progress steps and draws the charts. */
  add(items: readonly ProgressParams[]): void {
    const steps = learningSteps(items);
    if (steps.length === 0) return;
    this.history.push(...steps);
    if (steps.some((p) => p.coefficients !== undefined && !Array.isArray(p.coefficients))) this.layered = true;
    this.draw();
  }

  /** The run ended: mark what it kept, end the coefficient path in the kept coefficients, draw the heat map. */
  finish(report: SoupReport): void {
    this.kept = keptMarks(report, this.ingredients.length);
    if (!Array.isArray(report.coefficients)) {
      this.layered = true;
      this.heatmap.draw(report.coefficients);
      this.element.hidden = false;
    }
    this.destroy();
    this.draw();
  }

  private destroy(): void {
    this.loss?.destroy();
    this.coefficients?.destroy();
    this.loss = this.coefficients = undefined;
  }

  /** Each chart as wide as its cell (two side by side in a wide panel, one above the other in a narrow one). */
  private widthOf(box: HTMLElement): number {
    return Math.max(200, Math.floor(box.parentElement?.clientWidth || 400));
  }

  private fit(): void {
    if (this.loss) this.loss.setSize({ width: this.widthOf(this.lossBox), height: HEIGHT });
    if (this.coefficients) this.coefficients.setSize({ width: this.widthOf(this.coefBox), height: HEIGHT });
    this.heatmap.redraw();
  }

  private draw(): void {
    if (this.history.length === 0) return;
    this.element.hidden = false;
    const n = this.ingredients.length;
    const path = coefficientPath(this.history, n, this.kept);
    const x = this.history.map((p) => p.step);
    const train = this.history.map((p) => p.trainLoss ?? null);
    const validation = this.history.map((p) => p.validationLoss ?? null);
    // The loss chart spans the same steps as the coefficient chart (the end state's column included).
    const pad = path.steps.slice(x.length);
    const lossData: uPlot.AlignedData = [
      path.steps,
      [...train, ...pad.map(() => null)],
      [...validation, ...pad.map(() => null)],
    ];
    const coefData: uPlot.AlignedData = [path.steps, ...path.series];
    const lossStyles = [seriesStyle(0), seriesStyle(1)];
    const styles = this.ingredients.map((_, i) => seriesStyle(i));
    const kept = this.kept;
    const keptStep = kept?.step;
    const marks = (withEnd: boolean) => () => [
      ...(keptStep !== undefined ? [{ x: keptStep, text: `kept: step ${keptStep}` }] : []),
      ...(withEnd && path.endStep !== undefined
        ? [{ x: path.endStep, text: kept?.refit ? "kept after refit" : "kept" }]
        : []),
    ];
    const endOf = () => path.endStep;
    if (!this.loss) {
      this.loss = new uPlot(
        {
          width: this.widthOf(this.lossBox),
          height: HEIGHT,
          scales: { x: { time: false } },
          axes: axisOptions(this.lossBox, endOf),
          legend: { show: false },
          hooks: { draw: [markerHook(marks(false))], setCursor: [(u) => this.readLoss(u.cursor.idx)] },
          series: [
            { label: "step" },
            { label: "learn", stroke: resolved(lossStyles[0]!), width: 2 },
            { label: "validation", stroke: resolved(lossStyles[1]!), width: 2 },
          ],
        },
        lossData,
        this.lossBox,
      );
      this.coefficients = new uPlot(
        {
          width: this.widthOf(this.coefBox),
          height: HEIGHT,
          scales: { x: { time: false } },
          axes: axisOptions(this.coefBox, endOf),
          legend: { show: false },
          hooks: { draw: [markerHook(marks(true))], setCursor: [(u) => this.readCoefficients(u.cursor.idx)] },
          series: [
            { label: "step" },
            ...this.ingredients.map((name, i) => ({
              label: name,
              stroke: resolved(styles[i]!),
              width: 2,
              ...(styles[i]!.dash ? { dash: styles[i]!.dash } : {}),
              // The end state (the kept coefficients) is a dot of its own, not one more step of the path.
              points: {
                show: true,
                size: 7,
                filter: () => (path.endStep !== undefined ? [path.steps.length - 1] : []),
              },
            })),
          ],
        },
        coefData,
        this.coefBox,
      );
    } else {
      this.loss.setData(lossData);
      this.coefficients!.setData(coefData);
    }
    this.lossLegend.replaceChildren(legendItem("learn", lossStyles[0]!), legendItem("validation", lossStyles[1]!));
    this.coefLegend.replaceChildren(
      ...this.ingredients.map((name, i) =>
        legendItem(name, styles[i]!, kept ? formatNumber(kept.end[i], 3) : undefined),
      ),
    );
    this.coefTitle.textContent =
      this.layered && kept && kept.layers > 1
        ? `Coefficients (mean over ${kept.layers} layers; each layer in the heat map below)`
        : this.layered
          ? "Coefficients (mean over the layers)"
          : "Coefficients";
    for (const [box, line] of [
      [this.lossBox, this.lossKept],
      [this.coefBox, this.coefKept],
    ] as const) {
      if (kept) {
        box.dataset.keptStep = keptStep !== undefined ? String(keptStep) : "";
        box.dataset.refit = kept.refit ? `${kept.refit.steps}/${kept.refit.rows}` : "";
        line.textContent = kept.label;
        line.hidden = false;
      } else {
        delete box.dataset.keptStep;
        delete box.dataset.refit;
        line.hidden = true;
      }
    }
    if (kept) this.coefBox.dataset.endState = kept.end.map((v) => v.toFixed(4)).join(",");
    else delete this.coefBox.dataset.endState;
    // Which theme the charts were drawn for (they are redrawn when it changes).
    this.element.dataset.theme =
      ["vscode-high-contrast-light", "vscode-high-contrast", "vscode-light", "vscode-dark"].find((c) =>
        document.body.classList.contains(c),
      ) ?? "";
    this.readLoss(null);
    this.readCoefficients(null);
  }

  /** The readout under the loss chart: the hovered step's losses, else the last step's. */
  private readLoss(idx: number | null | undefined): void {
    const i = idx !== null && idx !== undefined && idx < this.history.length ? idx : this.history.length - 1;
    const p = this.history[i];
    if (!p) return;
    const text = `step ${p.step}: learn ${formatNumber(p.trainLoss)}, validation ${formatNumber(p.validationLoss)}`;
    this.lossReadout.textContent = text;
    this.lossBox.setAttribute("aria-label", `Loss; ${text}${this.kept ? `; ${this.kept.label}` : ""}`);
  }

  /** The readout under the coefficient chart: the hovered step's coefficients, the kept ones at the end state. */
  private readCoefficients(idx: number | null | undefined): void {
    const names = this.ingredients.map((n) => n.split(" ")[0]);
    const atEnd = this.kept !== undefined && (idx === null || idx === undefined || idx >= this.history.length);
    let text: string;
    if (atEnd) {
      text = `${this.kept!.label}: ${names.map((n, i) => `${n} ${formatNumber(this.kept!.end[i], 3)}`).join(", ")}`;
    } else {
      const i = idx !== null && idx !== undefined ? Math.min(idx, this.history.length - 1) : this.history.length - 1;
      const p = this.history[i]!;
      const values = coefficientPath([p], this.ingredients.length, undefined).series.map((s) => s[0] ?? NaN);
      text = `step ${p.step}: ${names.map((n, k) => `${n} ${formatNumber(values[k], 3)}`).join(", ")}`;
    }
    this.coefReadout.textContent = text;
    this.coefReadout.title = text;
    this.coefBox.setAttribute("aria-label", `Coefficients; ${text}`);
  }
}
