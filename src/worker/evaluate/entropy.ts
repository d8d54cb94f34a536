// The comparison without labels: mean prediction entropy (AdaMerging's objective) of every ingredient, the
// uniform soup, the given soup and the output ensemble on held-out inputs. Lower means more confident; it is
// what a label-free merge optimises, not a measure of accuracy.
import * as tf from "@tensorflow/tfjs";
import type { Cancellation } from "../../core/cancellation.js";
import { probabilityTask, sampleEntropy, toProbabilities, type Task } from "../learn/loss.js";
import { checkProblem, type SoupProblem } from "../learn/problem.js";
import { predictAll } from "./score.js";
import { MixWriter, singleMix, uniformMix, type SoupCandidate } from "./soup.js";

export interface EntropyComparison {
  readonly ingredients: number[];
  readonly uniform: number;
  readonly merged?: number;
  readonly ensemble: number;
}

function meanEntropy(task: Task, pred: tf.Tensor): number {
  return tf.tidy(() => sampleEntropy(task, pred).mean().dataSync()[0]!);
}

export async function compareEntropy(
  problem: SoupProblem,
  x: tf.Tensor,
  task: Task,
  options: { merged?: SoupCandidate; batchSize?: number; cancel?: Cancellation } = {},
): Promise<EntropyComparison> {
  checkProblem(problem);
  const n = problem.ingredients.length;
  const batchSize = options.batchSize ?? 1024;
  const writer = new MixWriter(problem);
  let probabilitySum: tf.Tensor | undefined;
  try {
    // Without labels no statistics are chosen: the uniform soup is the weight average, a given soup as it is written.
    const score = async (candidate: SoupCandidate): Promise<number> => {
      await writer.writeCandidate(candidate);
      const pred = await predictAll(problem.model, x, batchSize, options.cancel);
      try {
        return meanEntropy(task, pred);
      } finally {
        pred.dispose();
      }
    };
    const ingredients: number[] = [];
    for (let i = 0; i < n; i++) {
      await writer.write(singleMix(n, i), undefined, options.cancel);
      const pred = await predictAll(problem.model, x, batchSize, options.cancel);
      ingredients.push(meanEntropy(task, pred));
      const probabilities = toProbabilities(task, pred);
      pred.dispose();
      const next = probabilitySum === undefined ? probabilities : probabilitySum.add(probabilities);
      if (probabilitySum !== undefined) tf.dispose([probabilitySum, probabilities]);
      probabilitySum = next;
    }
    const mean = probabilitySum!.div(n);
    const ensemble = meanEntropy(probabilityTask(task), mean);
    mean.dispose();
    return {
      ingredients,
      uniform: await score({ mix: uniformMix(n) }),
      merged: options.merged === undefined ? undefined : await score(options.merged),
      ensemble,
    };
  } finally {
    probabilitySum?.dispose();
    writer.dispose();
  }
}
