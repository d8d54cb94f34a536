/**
 * What the learning and results charts show, as plain data (no DOM, tested in test/webview/chart-data.test.ts):
 * one distinct style per ingredient, the coefficient path ending in the kept coefficients with the kept step and
 * the refit marked, and the rows of the results chart.
 */
import { methodShortName } from "../src/protocol/choices.js";
import type { Coefficients, MetricPair, ProgressParams, SoupReport } from "../src/protocol/worker.js";

/**
 * A series' look: a VS Code chart colour (it follows light, dark and high-contrast themes) or a fixed colour that
 * reads on both light and dark backgrounds, and past ten ingredients a dash pattern, so no two share a look.
 */
export interface SeriesStyle {
  /** The theme variable to read first (the chart colours every VS Code theme defines). */
  variable?: string;
  color: string;
  dash?: number[];
}

/**
 * Ten colours, each far from the others in both default themes (CIE ΔE ≥ 35 among the first nine, light and dark
 * Modern). The themes' yellow is within ΔE 10–23 of their orange, so it comes last: only a tenth ingredient gets it.
 */
const COLOURS: readonly SeriesStyle[] = [
  { variable: "--vscode-charts-blue", color: "#3794ff" },
  { variable: "--vscode-charts-orange", color: "#d18616" },
  { variable: "--vscode-charts-green", color: "#89d185" },
  { variable: "--vscode-charts-purple", color: "#b180d7" },
  { variable: "--vscode-charts-red", color: "#f14c4c" },
  // Mid tones unlike the theme colours that keep their contrast on white and on near-black.
  { color: "#1aa3a3" },
  { color: "#e0609e" },
  { color: "#9c755f" },
  { color: "#808000" },
  { variable: "--vscode-charts-yellow", color: "#cca700" },
];
const DASHES: ReadonlyArray<number[] | undefined> = [undefined, [6, 3], [2, 3], [8, 3, 2, 3]];

export function seriesStyle(i: number): SeriesStyle {
  const base = COLOURS[i % COLOURS.length]!;
  const dash = DASHES[Math.floor(i / COLOURS.length) % DASHES.length];
  return dash ? { ...base, dash } : { ...base };
}

/** One value per ingredient: the model-level coefficients, or the mean over layers for layer granularity. */
export function perIngredient(c: Coefficients | undefined, n: number): number[] {
  if (!c) return new Array<number>(n).fill(NaN);
  if (Array.isArray(c)) return c;
  const layers = Object.values(c);
  return Array.from({ length: n }, (_, i) => layers.reduce((s, l) => s + (l[i] ?? 0), 0) / Math.max(1, layers.length));
}

/** What a finished run kept, as the charts mark it. */
export interface KeptMarks {
  /** The step of the learned path whose coefficients were kept (absent when another candidate was kept). */
  step?: number;
  /** The small-data refit that followed: rows and steps. */
  refit?: { rows: number; steps: number };
  /** The kept coefficients per ingredient (the mean over layers at layer granularity): the chart's end state. */
  end: number[];
  /** The marker's words: "kept: step 40", "kept: greedy soup". */
  label: string;
  /** Layers behind each end value (layer granularity), else 1. */
  layers: number;
}

export function keptMarks(report: SoupReport, n: number): KeptMarks | undefined {
  const learning = report.learning;
  if (!learning) return undefined;
  const layers = Array.isArray(report.coefficients) ? 1 : Object.keys(report.coefficients).length;
  const end = perIngredient(report.coefficients, n);
  const learned = learning.kept === "learned";
  const refit = learned ? learning.refit : undefined;
  return {
    ...(learned ? { step: learning.bestStep } : {}),
    ...(refit ? { refit } : {}),
    end,
    label: learned
      ? `kept: step ${learning.bestStep}${refit ? `, then refit (${refit.steps} steps on ${refit.rows} rows)` : ""}`
      : `kept: ${learning.kept} (no learned soup beat it on validation)`,
    layers,
  };
}

/** The coefficient chart: the learned path, and when the run ended, one more point at `endStep` with the kept values. */
export interface CoefficientPath {
  steps: number[];
  /** One series per ingredient, aligned with `steps`; null where a series has no value (the gap before the end). */
  series: (number | null)[][];
  /** Where the end state is drawn (after the last step), when the run ended. */
  endStep?: number;
}

/** The learning steps of a run's progress (the steps that carry a loss). */
export function learningSteps(items: readonly ProgressParams[]): ProgressParams[] {
  return items.filter((p) => p.phase === "learning" && (p.trainLoss !== undefined || p.validationLoss !== undefined));
}

export function coefficientPath(
  history: readonly ProgressParams[],
  n: number,
  kept: KeptMarks | undefined,
): CoefficientPath {
  const steps = learningSteps(history);
  const x = steps.map((p) => p.step);
  const series = Array.from({ length: n }, (_, i) => steps.map((p) => perIngredient(p.coefficients, n)[i] ?? null));
  if (!kept) return { steps: x, series };
  const last = x.at(-1) ?? 0;
  // A gap of a tenth of the path between the last step and the end state: the kept values are not one more step.
  const endStep = last + Math.max(1, Math.round(last / 10));
  return {
    steps: [...x, (last + endStep) / 2, endStep],
    series: series.map((s, i) => [...s, null, kept.end[i] ?? null]),
    endStep,
  };
}

/** The merged row's name: the method that made it, and what a learned run kept when that was not the learned path. */
export function mergedLabel(report: SoupReport): string {
  const aligned = report.alignment ? "aligned " : "";
  const kept = report.learning?.kept;
  if (kept !== undefined && kept !== "learned") return `Merged (${aligned}${kept}, kept over the learned soup)`;
  return `Merged (${aligned}${methodShortName(report.method) ?? report.method})`;
}

/** A row of the results table and chart. */
export interface ResultRow {
  label: string;
  kind: "ingredient" | "soup" | "merged" | "ensemble";
  scores: MetricPair;
  /** The merged soup's coefficient of this ingredient (the mean over layers at layer granularity), as the CLI prints. */
  coefficient?: string;
}

export function coefficientCell(c: Coefficients, i: number): string | undefined {
  if (Array.isArray(c)) return c[i] === undefined ? undefined : c[i]!.toFixed(3);
  const values = Object.values(c).map((v) => v[i] ?? 0);
  if (values.length === 0) return undefined;
  return `${(values.reduce((a, b) => a + b, 0) / values.length).toFixed(3)} (mean of ${values.length} layers)`;
}

/** Every row the report scored on the test rows, in the CLI's order; `label` names an ingredient by its path. */
export function resultRows(report: SoupReport, label: (path: string) => string): ResultRow[] {
  const m = report.metrics;
  const rows: ResultRow[] = m.ingredients.map((r, i) => {
    const coefficient = coefficientCell(report.coefficients, i);
    return {
      label: `Ingredient ${label(r.model)}`,
      kind: "ingredient",
      scores: r,
      ...(coefficient !== undefined ? { coefficient } : {}),
    };
  });
  rows.push({ label: "Uniform soup", kind: "soup", scores: m.uniform });
  if (m.alignedUniform) rows.push({ label: "Aligned uniform soup", kind: "soup", scores: m.alignedUniform });
  rows.push({ label: mergedLabel(report), kind: "merged", scores: m.merged });
  // A further row that is the merge itself (the greedy soup a learned run kept) is not listed twice.
  const merged = (report.learning?.kept !== "learned" ? report.learning?.kept : undefined) ?? report.method;
  for (const other of m.methods ?? [])
    if (other.method !== merged && !rows.some((r) => r.label.toLowerCase() === other.method.toLowerCase()))
      rows.push({ label: other.method[0]!.toUpperCase() + other.method.slice(1), kind: "soup", scores: other });
  rows.push({ label: "Ensemble of outputs (costs N× at inference)", kind: "ensemble", scores: m.ensemble });
  return rows;
}

/** The results chart: one bar per row but the ensemble, which is the reference line. */
export interface ResultsChart {
  bars: { label: string; kind: ResultRow["kind"]; value: number }[];
  reference: number;
  /** The metric's axis: accuracy in [0, 1]; MAE and entropy from 0 up. */
  max: number;
  higherIsBetter: boolean;
}

export function resultsChart(report: SoupReport, rows: readonly ResultRow[]): ResultsChart {
  const bars = rows
    .filter((r) => r.kind !== "ensemble")
    .map((r) => ({ label: r.label, kind: r.kind, value: r.scores.metric }));
  const reference = report.metrics.ensemble.metric;
  const accuracy = report.metricName === "accuracy";
  const top = Math.max(reference, ...bars.map((b) => b.value));
  return { bars, reference, max: accuracy ? 1 : top > 0 ? top * 1.05 : 1, higherIsBetter: accuracy };
}
