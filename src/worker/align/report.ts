import type { AlignmentReport, MetricPair, SoupReport } from "../../protocol/worker.js";
import type { RepairedSoup, RepairOutcome } from "./repair.js";
import type { AlignmentOutcome } from "./align-problem.js";
import { ALIGN_HINT, ALIGNED_HINT } from "../../core/report/basin.js";
import { metricPair } from "../evaluate/score.js";

/** What a soup report (learn, greedy) and the evaluate report have in common for alignment. */
type AlignableReport = Pick<SoupReport, "alignment" | "warnings"> & {
  metricName: SoupReport["metricName"];
  metrics: { uniform: MetricPair; alignedUniform?: MetricPair };
};

/**
 * Adds an alignment to a soup report: the uniform soup and the merge were measured on the aligned models, so the
 * uniform soup becomes the "aligned uniform soup" and the models-as-given uniform soup takes its place.
 */
export function addAlignment(report: AlignableReport, outcome: AlignmentOutcome): void {
  report.alignment = outcome.report;
  // The basin warnings were measured after alignment: suggesting it again would mislead.
  report.warnings = report.warnings.map((w) => w.replace(ALIGN_HINT, ALIGNED_HINT));
  if (outcome.unalignedUniform !== undefined && report.metricName !== "entropy") {
    report.metrics.alignedUniform = report.metrics.uniform;
    report.metrics.uniform = outcome.unalignedUniform;
  }
}

/** REPAIR as reports give it: the layers, the validation score before and after, and whether it was kept. */
export function repairSummary(repaired: RepairOutcome): NonNullable<AlignmentReport["repair"]> {
  return {
    layers: repaired.layers,
    validation: { before: metricPair(repaired.validation.before), after: metricPair(repaired.validation.after) },
    kept: repaired.kept,
  };
}

/** Records REPAIR in the report; when it was kept, the soup's test score is the repaired one. */
export function addRepair(report: SoupReport, repaired: RepairedSoup | undefined): void {
  if (repaired === undefined || report.alignment === undefined) return;
  report.alignment.repair = repairSummary(repaired);
  if (repaired.kept && repaired.test !== undefined) report.metrics.merged = metricPair(repaired.test);
}
