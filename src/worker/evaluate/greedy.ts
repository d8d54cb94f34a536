// Greedy soup (Wortsman et al. 2022): ingredients sorted by validation loss, best first; each is kept only if
// adding it to the uniform soup of those kept does not make the validation loss worse. The paper ranks by
// accuracy; on imbalanced data that keeps soups drifting to "always the majority class" (same accuracy, far
// worse loss), so the loss decides, as it does for every other merge here.
import type * as tf from "@tensorflow/tfjs";
import type { Cancellation } from "../../core/cancellation.js";
import { chooseBatchNorm } from "../learn/batchnorm.js";
import type { Task } from "../learn/loss.js";
import { checkProblem, type SoupData, type SoupProblem } from "../learn/problem.js";
import { metricBetter, predictAll, scorePredictions, type Score } from "./score.js";
import { MixWriter, singleMix, subsetMix, type Mix } from "./soup.js";

export interface GreedyStep {
  readonly ingredient: number;
  /** Validation score of the soup with this ingredient added. */
  readonly score: Score;
  readonly kept: boolean;
}

export interface GreedySoup {
  readonly kept: number[];
  readonly mix: Mix;
  readonly validation: Score;
  /** Ingredients in the order tried (lowest validation loss first), with their individual validation scores. */
  readonly ranking: Array<{ ingredient: number; score: Score }>;
  readonly steps: GreedyStep[];
}

/** Yields to the event loop before each batch; rejects with CancelledError when `cancel` asks to stop. */
export async function greedySoup(
  problem: SoupProblem,
  validation: SoupData,
  task: Task,
  /** batchNormData: re-estimate statistics of each soup tried on it when that lowers the validation loss. */
  options: { batchNormData?: tf.Tensor; batchSize?: number; cancel?: Cancellation } = {},
): Promise<GreedySoup> {
  checkProblem(problem);
  const n = problem.ingredients.length;
  const writer = new MixWriter(problem);
  const scoreNow = async (): Promise<Score> => {
    const pred = await predictAll(problem.model, validation.x, options.batchSize ?? 1024, options.cancel);
    try {
      return scorePredictions(task, pred, validation.y!);
    } finally {
      pred.dispose();
    }
  };
  // A soup of several is scored with its statistics re-estimated on `batchNormData` when that lowers the loss.
  const score = async (mix: Mix, soup: boolean): Promise<Score> => {
    await writer.write(mix);
    const data = soup ? options.batchNormData : undefined;
    return (await chooseBatchNorm(problem.model, scoreNow, data, options)).score;
  };
  try {
    const ranking: Array<{ ingredient: number; score: Score }> = [];
    for (let i = 0; i < n; i++) ranking.push({ ingredient: i, score: await score(singleMix(n, i), false) });
    ranking.sort((p, q) =>
      p.score.loss !== q.score.loss
        ? p.score.loss - q.score.loss
        : metricBetter(task, p.score.metric, q.score.metric)
          ? -1
          : metricBetter(task, q.score.metric, p.score.metric)
            ? 1
            : 0,
    );
    const kept = [ranking[0]!.ingredient];
    let current = ranking[0]!.score;
    const steps: GreedyStep[] = [{ ingredient: kept[0]!, score: current, kept: true }];
    for (const { ingredient } of ranking.slice(1)) {
      const candidate = await score(subsetMix(n, [...kept, ingredient]), true);
      const keep = candidate.loss <= current.loss;
      steps.push({ ingredient, score: candidate, kept: keep });
      if (keep) {
        kept.push(ingredient);
        current = candidate;
      }
    }
    return { kept, mix: subsetMix(n, kept), validation: current, ranking, steps };
  } finally {
    writer.dispose();
  }
}
