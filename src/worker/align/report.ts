import type { SoupReport } from "../../protocol/worker.js";
import type { AlignmentOutcome } from "./align-problem.js";

/**
 * Adds an alignment to a soup report: the uniform soup and the merge were measured on the aligned models, so the
 * uniform soup becomes the "aligned uniform soup" and the models-as-given uniform soup takes its place.
 */
export function addAlignment(report: SoupReport, outcome: AlignmentOutcome): void {
  report.alignment = outcome.report;
  if (outcome.unalignedUniform !== undefined && report.metricName !== "entropy") {
    report.metrics.alignedUniform = report.metrics.uniform;
    report.metrics.uniform = outcome.unalignedUniform;
  }
}
