/** The comparison table of a soup report: every ingredient, the uniform soup, the merged soup, the ensemble. */
import type { Coefficients, EvaluateReport, LearningSummary, MetricPair, SoupReport } from "../../protocol/worker.js";
import { keptLine, soupVerdict } from "../../core/report/verdict.js";
import { shortName } from "./short-name.js";
import { formatTable } from "./table.js";
import { formatAlignment } from "./alignment.js";
import { testRowsLines } from "./test-rows.js";

function metric(name: string, value: number): string {
  return name === "accuracy" ? `${(value * 100).toFixed(2)}%` : value.toFixed(4);
}

/** The columns beside loss and the report's metric that fit the task, shown when some row has them. */
const EXTRA_COLUMNS: ReadonlyArray<{ key: "balancedAccuracy" | "auc" | "r2"; title: string; percent: boolean }> = [
  { key: "balancedAccuracy", title: "balanced acc.", percent: true },
  { key: "auc", title: "AUC", percent: false },
  { key: "r2", title: "R²", percent: false },
];

function coefficientCell(coefficients: Coefficients | undefined, i: number): string {
  if (coefficients === undefined) return "";
  if (Array.isArray(coefficients)) return coefficients[i] === undefined ? "" : coefficients[i]!.toFixed(3);
  const values = Object.values(coefficients).map((v) => v[i]!);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return `${mean.toFixed(3)} (mean of ${values.length} layers)`;
}

export function formatComparison(report: SoupReport | EvaluateReport): string {
  const metricName = report.metricName;
  const coefficients = "coefficients" in report ? report.coefficients : undefined;
  const scored: MetricPair[] = [
    ...report.metrics.ingredients,
    report.metrics.uniform,
    ...("alignedUniform" in report.metrics && report.metrics.alignedUniform ? [report.metrics.alignedUniform] : []),
    ...(report.metrics.merged !== undefined ? [report.metrics.merged] : []),
    ...(report.metrics.methods ?? []),
    report.metrics.ensemble,
  ];
  const extras =
    metricName === "entropy" ? [] : EXTRA_COLUMNS.filter((c) => scored.some((m) => m[c.key] !== undefined));
  const extraCell = (value: number | undefined, percent: boolean) =>
    value === undefined ? "" : percent ? `${(value * 100).toFixed(2)}%` : value.toFixed(4);
  const row = (name: string, m: MetricPair, coefficient = ""): string[] => [
    name,
    m.loss.toFixed(4),
    metric(metricName, m.metric),
    ...extras.map((c) => extraCell(m[c.key], c.percent)),
    coefficient,
  ];
  const rows = report.metrics.ingredients.map((m, i) => row(shortName(m.model), m, coefficientCell(coefficients, i)));
  rows.push(row("uniform soup", report.metrics.uniform));
  const aligned = "alignment" in report && report.alignment !== undefined;
  if ("alignedUniform" in report.metrics && report.metrics.alignedUniform !== undefined)
    rows.push(row("aligned uniform soup", report.metrics.alignedUniform));
  if (report.metrics.merged !== undefined)
    rows.push(row(`${aligned ? "aligned " : ""}${report.method ?? "merged"}`, report.metrics.merged));
  for (const m of report.metrics.methods ?? []) rows.push(row(m.method, m));
  const notRun = "notRun" in report.metrics ? (report.metrics.notRun ?? []) : [];
  for (const m of notRun) rows.push([m.method, "—", "—", ...extras.map(() => ""), "not run (below)"]);
  rows.push(row("output ensemble (N× cost)", report.metrics.ensemble));
  const verdict = soupVerdict(report);
  const lines = [
    verdict.text,
    ...verdict.notes,
    "",
    ...testRowsLines(report.split, report.backend),
    "",
    formatTable(["model", "loss", metricName, ...extras.map((c) => c.title), "coefficient"], rows),
    ...notRun.map((m) => `not run: ${m.method}: ${m.reason}`),
  ];
  if (report.mergeability.length > 0) {
    const cosines = report.mergeability.map((p) => p.cosine);
    const barrier = Math.max(...report.mergeability.map((p) => p.barrier));
    lines.push(
      "",
      `Mergeability (${report.mergeability.length} pairs, validation split): weight cosine ${Math.min(...cosines).toFixed(3)}–${Math.max(...cosines).toFixed(3)}, ` +
        `largest loss barrier at the midpoint ${barrier.toFixed(4)}${barrier <= 0 ? " (none: the models share a basin)" : ""}`,
    );
  }
  if ("alignment" in report && report.alignment !== undefined) lines.push("", formatAlignment(report.alignment));
  if ("learning" in report && report.learning) lines.push("", ...learningLines(report.learning));
  if (report.warnings.length) lines.push("", ...report.warnings.map((w) => `warning: ${w}`));
  if ("output" in report && report.output)
    lines.push("", `Wrote ${shortName(report.output.model)}`, `Recipe ${shortName(report.output.recipe)}`);
  return lines.join("\n");
}

const STOPPED: Record<LearningSummary["stoppedBy"], string> = {
  "early-stopping": "no lower validation loss for the patience",
  budget: "the step budget ran out",
  converged: "converged",
  iterations: "the iteration budget ran out",
};

/** How a learned soup was learned: the start, what was kept, the steps against the budget, why it stopped. */
export function learningLines(l: LearningSummary): string[] {
  const b = l.budget;
  const what = l.optimizer === "adam" ? "Adam steps" : "L-BFGS iterations";
  const rate =
    b.learningRate !== undefined
      ? `, learning rate ${b.learningRate}${b.schedule === "cosine" ? " with cosine decay" : ""}`
      : "";
  const lines = [
    l.candidates.length > 0
      ? `Start: ${l.start} (the lowest validation loss of ${l.candidates.length} candidates: uniform soup, each model${l.candidates.some((c) => c.name === "greedy soup") ? ", greedy soup" : ""})`
      : `Start: ${l.start} (candidates are compared only for the supervised objective)`,
    `Learning: ${l.steps} ${what} of a budget of ${b.maxSteps}${rate}, ${b.batchSize} rows per step, validation every ${b.evaluateEvery}; ` +
      `stopped: ${STOPPED[l.stoppedBy]}${l.optimizer === "adam" ? ` (patience ${b.patience} steps)` : ""}; best at step ${l.bestStep}`,
    keptLine(l),
  ];
  if (l.refit)
    lines.push(
      `Small data: learned again on learn + validation (${l.refit.rows} rows) for ${l.refit.steps} steps; test rows unused until this report`,
    );
  return lines;
}
