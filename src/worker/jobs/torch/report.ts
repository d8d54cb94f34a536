/** The comparison a PyTorch job reports, in the TensorFlow.js jobs' shapes (SoupReport / EvaluateReport). */
import type { MetricPair, PairMergeability } from "../../../protocol/worker.js";
import { metricPair, type Score } from "../../evaluate/score.js";
import type { Objective } from "../../learn/objective.js";
import { modelLabel } from "../session/report.js";
import { engineMergeability, type EngineComparison } from "./rows.js";
import type { TorchSession } from "./session.js";

export interface LabelledComparison {
  readonly ingredients: Array<{ model: string } & MetricPair>;
  readonly ensemble: MetricPair;
  readonly soups: MetricPair[];
  readonly mergeability: PairMergeability[];
  readonly warnings: string[];
  readonly testClassCounts?: number[];
}

/** The test figures of a comparison and the pairs' mergeability on validation, by the labels. */
export async function labelledComparison(
  session: TorchSession,
  objective: Objective,
  compared: EngineComparison,
): Promise<LabelledComparison> {
  const models = session.models;
  const { pairs, warnings } = await engineMergeability(
    session.engine,
    objective,
    session.ingredients,
    models,
    models.map(modelLabel),
  );
  return {
    ingredients: models.map((model, i) => ({ model, ...metricPair(compared.ingredients[i]!) })),
    ensemble: metricPair(compared.ensemble),
    soups: compared.soups.map((s: Score) => metricPair(s)),
    mergeability: pairs,
    warnings,
    ...(compared.classCounts !== undefined ? { testClassCounts: compared.classCounts } : {}),
  };
}
