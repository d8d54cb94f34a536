// Honest comparison on a held-out split: every ingredient, the uniform soup, given (learned) coefficients, and
// the output ensemble (averaged predictions: the N×-cost upper reference).
import * as tf from "@tensorflow/tfjs";
import { UsageError } from "../../core/errors.js";
import type { Cancellation } from "../../core/cancellation.js";
import { probabilityTask, resolveTask, toProbabilities, type LossSpec, type Task } from "../learn/loss.js";
import { checkProblem, type SoupData, type SoupProblem } from "../learn/problem.js";
import { labelClassCounts, predictAll, scorePredictions, type Score } from "./score.js";
import { MixWriter, singleMix, uniformMix, type Mix } from "./soup.js";

export interface EvaluateOptions {
  readonly task?: Task;
  readonly loss?: LossSpec;
  readonly trainingConfig?: unknown;
  /** The learned (or any given) soup to report as `merged`. */
  readonly merged?: Mix;
  /** Re-estimate BatchNormalization statistics of every soup (not the ingredients) on these inputs. */
  readonly batchNormData?: tf.Tensor;
  readonly batchSize?: number;
  readonly cancel?: Cancellation;
}

export interface SoupEvaluation {
  readonly metricName: Task["metric"];
  readonly lossName: LossSpec["name"];
  readonly ingredients: Score[];
  readonly uniform: Score;
  readonly merged?: Score;
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
  options: EvaluateOptions = {},
): Promise<SoupEvaluation> {
  checkProblem(problem);
  const task = taskFor(problem, data, options);
  const y = data.y!;
  const n = problem.ingredients.length;
  const batchSize = options.batchSize ?? 1024;
  const writer = new MixWriter(problem);
  let probabilitySum: tf.Tensor | undefined;
  try {
    const scoreMix = async (mix: Mix, soup: boolean): Promise<Score> => {
      await writer.write(mix, soup ? options.batchNormData : undefined, options.cancel);
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
      uniform: await scoreMix(uniformMix(n), true),
      merged: options.merged === undefined ? undefined : await scoreMix(options.merged, true),
      ensemble,
      ...(classCounts !== undefined ? { classCounts } : {}),
    };
  } finally {
    probabilitySum?.dispose();
    writer.dispose();
  }
}
