import type { SoupReport } from "../../protocol/worker.js";
import type { RepairedSoup } from "./repair.js";
import type { AlignmentOutcome } from "./align-problem.js";
import { ALIGN_HINT } from "../evaluate/mergeability.js";

/**
 * Adds an alignment to a soup report: the uniform soup and the merge were measured on the aligned models, so the
 * uniform soup becomes the "aligned uniform soup" and the models-as-given uniform soup takes its place.
 */
export function addAlignment(report: SoupReport, outcome: AlignmentOutcome): void {
  report.alignment = outcome.report;
  // The basin warnings were measured after alignment: suggesting it again would mislead.
  report.warnings = report.warnings.map((w) => w.replace(ALIGN_HINT, " They were aligned first and still do not share one."));
  if (outcome.unalignedUniform !== undefined && report.metricName !== "entropy") {
    report.metrics.alignedUniform = report.metrics.uniform;
    report.metrics.uniform = outcome.unalignedUniform;
  }
}

/** Records REPAIR in the report; when it was kept, the learned soup's test score is the repaired one. */
export function addRepair(report: SoupReport, repaired: RepairedSoup | undefined): void {
  if (repaired === undefined || report.alignment === undefined) return;
  const pair = (s: { loss: number; metric: number }) => ({ loss: s.loss, metric: s.metric });
  report.alignment.repair = {
    layers: repaired.layers,
    validation: { before: pair(repaired.validation.before), after: pair(repaired.validation.after) },
    kept: repaired.kept,
  };
  if (repaired.kept && repaired.test !== undefined) report.metrics.merged = pair(repaired.test);
}
