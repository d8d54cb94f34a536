/**
 * `evaluate --align`: beside the models as given, the uniform soup and the learned soup (the learner's defaults) of
 * the aligned models, on the same test split; the learned soup REPAIRed when that lowers the validation loss.
 */
import type { EvaluateReport } from "../../protocol/worker.js";
import type { Cancellation } from "../../core/cancellation.js";
import { learnOnTfjs } from "../engine/tfjs-learn.js";
import type { SoupProblem } from "../learn/problem.js";
import { uniformMix, type Mix } from "../evaluate/soup.js";
import { scoreSoupOnTest, type AlignmentData, type AlignmentOutcome } from "./align-problem.js";
import { repairAndScore } from "./repair.js";
import { metricPair } from "../evaluate/score.js";
import { addAlignment, repairSummary } from "./report.js";

/** The row name of the learned soup of aligned models (learn --align prints "aligned " + its method too). */
export const ALIGNED_LEARNED_SOUP = "aligned learned soup";

export async function addAlignedSoups(
  report: EvaluateReport,
  outcome: AlignmentOutcome,
  problem: SoupProblem,
  data: AlignmentData,
  options: { tensorNames: readonly string[]; trainingConfig?: unknown; seed: number; cancel?: Cancellation },
): Promise<void> {
  addAlignment(report, outcome);
  // Scored as the unaligned uniform soup was (the one definition of a soup in rows.ts), so the rows compare.
  report.metrics.alignedUniform = await scoreSoupOnTest(problem, uniformMix(problem.ingredients.length), data, options);
  const learned = await learnOnTfjs(problem, data.learn, data.validation, {
    seed: options.seed,
    trainingConfig: options.trainingConfig,
    cancel: options.cancel,
  });
  const mix: Mix = { coefficients: learned.coefficients, groups: learned.groups };
  const candidate = { mix, ...(learned.batchNormStatistics ? { statistics: learned.batchNormStatistics } : {}) };
  let score = await scoreSoupOnTest(problem, candidate, data, options);
  if (learned.batchNormReestimated.length === 0) {
    const repaired = await repairAndScore(problem, outcome.plan, mix, data, options.tensorNames, options);
    if (repaired !== undefined) {
      report.alignment!.repair = repairSummary(repaired);
      if (repaired.kept && repaired.test !== undefined) score = metricPair(repaired.test);
    }
  }
  report.metrics.methods = [...(report.metrics.methods ?? []), { method: ALIGNED_LEARNED_SOUP, ...score }];
}
