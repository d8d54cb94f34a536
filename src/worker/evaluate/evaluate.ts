// Honest comparison on a held-out split: every ingredient, the uniform soup, given (learned) coefficients, and
// the output ensemble (averaged predictions: the N×-cost upper reference).
import * as tf from "@tensorflow/tfjs";
import { UsageError } from "../../core/errors.js";
import type { Cancellation } from "../../core/cancellation.js";
import { probabilityTask, resolveTask, toProbabilities, type LossSpec, type Task } from "../learn/loss.js";
import { checkProblem, type SoupData, type SoupProblem } from "../learn/problem.js";
import { labelClassCounts, predictAll, scorePredictions, type Score } from "./score.js";
import { MixWriter, singleMix, type SoupCandidate } from "./soup.js";

export interface EvaluateOptions {
  readonly task?: Task;
  readonly loss?: LossSpec;
  readonly trainingConfig?: unknown;
  /** The uniform soup as rows.ts settled it (BatchNormalization statistics included). */
  readonly uniform: SoupCandidate;
  /** The learned (or any given) soup to report as `merged`, as it is written. */
  readonly merged?: SoupCandidate;
  /** Further soups to score on the same split (reported in the same order as `others`). */
  readonly others?: readonly SoupCandidate[];
  readonly batchSize?: number;
  readonly cancel?: Cancellation;
}

export interface SoupEvaluation {
  readonly metricName: Task["metric"];
  readonly lossName: LossSpec["name"];
  readonly ingredients: Score[];
  readonly uniform: Score;
  readonly merged?: Score;
  readonly others: Score[];
  readonly ensemble: Score;
  /** Classification: rows of each class among the rows scored. */
  readonly classCounts?: number[];
}

export function taskFor(
  problem: SoupProblem,
  data: SoupData,
  options: Pick<EvaluateOptions, "task" | "loss" | "trainingConfig">,
): Task {
  if (data.y === undefined) throw new UsageError("Evaluation needs labels.");
  return (
    options.task ??
    resolveTask(problem.model, {
      loss: options.loss ?? problem.loss,
      trainingConfig: options.trainingConfig,
      y: data.y,
    })
  );
}

/** Yields to the event loop before each batch; rejects with CancelledError when `cancel` asks to stop. */
export async function evaluateSoups(
  problem: SoupProblem,
  data: SoupData,
  options: EvaluateOptions,
): Promise<SoupEvaluation> {
  checkProblem(problem);
  const task = taskFor(problem, data, options);
  const y = data.y!;
  const n = problem.ingredients.length;
  const batchSize = options.batchSize ?? 1024;
  const writer = new MixWriter(problem);
  let probabilitySum: tf.Tensor | undefined;
  try {
    const scoreSoup = async (candidate: SoupCandidate): Promise<Score> => {
      await writer.writeCandidate(candidate);
      const pred = await predictAll(problem.model, data.x, batchSize, options.cancel);
      try {
        return scorePredictions(task, pred, y);
      } finally {
        pred.dispose();
      }
    };
    const ingredients: Score[] = [];
    let classCounts: number[] | undefined;
    for (let i = 0; i < n; i++) {
      await writer.write(singleMix(n, i));
      const pred = await predictAll(problem.model, data.x, batchSize, options.cancel);
      ingredients.push(scorePredictions(task, pred, y));
      if (i === 0) classCounts = labelClassCounts(task, pred, y);
      const probabilities = toProbabilities(task, pred);
      pred.dispose();
      if (probabilitySum === undefined) probabilitySum = probabilities;
      else {
        const next = probabilitySum.add(probabilities);
        tf.dispose([probabilitySum, probabilities]);
        probabilitySum = next;
      }
    }
    const mean = probabilitySum!.div(n);
    const ensemble = scorePredictions(probabilityTask(task), mean, y);
    mean.dispose();
    return {
      metricName: task.metric,
      lossName: task.loss.name,
      ingredients,
      uniform: await scoreSoup(options.uniform),
      merged: options.merged === undefined ? undefined : await scoreSoup(options.merged),
      others: await sequence(options.others ?? [], scoreSoup),
      ensemble,
      ...(classCounts !== undefined ? { classCounts } : {}),
    };
  } finally {
    probabilitySum?.dispose();
    writer.dispose();
  }
}

async function sequence<T, R>(items: readonly T[], run: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const item of items) out.push(await run(item));
  return out;
}
