// Do two ingredients share a basin? Cosine similarity of their weights and the loss barrier on the straight
// line between them (barrier = loss at the midpoint − mean loss at the ends).
import type * as tf from "@tensorflow/tfjs";
import type { Cancellation } from "../../core/cancellation.js";
import type { Task } from "../learn/loss.js";
import { ALIGN_HINT, basinWarnings, isHighBarrier } from "../../core/report/basin.js";
import { checkProblem, type SoupData, type SoupProblem } from "../learn/problem.js";

export { isHighBarrier };
import { predictAll, scorePredictions, type Score } from "./score.js";
import { MixWriter, singleMix } from "./soup.js";

export interface PairMergeability {
  readonly a: number;
  readonly b: number;
  readonly cosine: number;
  readonly lossA: number;
  readonly lossB: number;
  readonly lossMidpoint: number;
  readonly metricMidpoint: number;
  readonly barrier: number;
  readonly high: boolean;
}

export interface Mergeability {
  readonly pairs: PairMergeability[];
  readonly warnings: string[];
}

/** Cosine similarity of two models' weights, all tensors taken as one vector. */
export function weightCosine(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  a.forEach((wa, k) => {
    const wb = b[k]!;
    for (let j = 0; j < wa.length; j++) {
      ab += wa[j]! * wb[j]!;
      aa += wa[j]! * wa[j]!;
      bb += wb[j]! * wb[j]!;
    }
  });
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

/** Yields to the event loop before each batch; rejects with CancelledError when `cancel` asks to stop. */
export async function mergeability(
  problem: SoupProblem,
  data: SoupData,
  task: Task,
  options: {
    names?: readonly string[];
    ingredientLosses?: readonly number[];
    batchNormData?: tf.Tensor;
    batchSize?: number;
    cancel?: Cancellation;
  } = {},
): Promise<Mergeability> {
  checkProblem(problem);
  const n = problem.ingredients.length;
  const batchSize = options.batchSize ?? 1024;
  const names = options.names ?? Array.from({ length: n }, (_, i) => `ingredient ${i + 1}`);
  const writer = new MixWriter(problem);
  const score = async (coefficients: number[][], soup: boolean): Promise<Score> => {
    await writer.write({ coefficients }, soup ? options.batchNormData : undefined, options.cancel);
    const pred = await predictAll(problem.model, data.x, batchSize, options.cancel);
    try {
      return scorePredictions(task, pred, data.y!);
    } finally {
      pred.dispose();
    }
  };
  try {
    let losses = options.ingredientLosses;
    if (losses === undefined) {
      const own: number[] = [];
      for (let i = 0; i < n; i++) own.push((await score(singleMix(n, i).coefficients as number[][], false)).loss);
      losses = own;
    }
    const pairs: PairMergeability[] = [];
    for (let a = 0; a < n; a++) {
      for (let b = a + 1; b < n; b++) {
        const mid = await score(
          Array.from({ length: n }, (_, k) => [k === a || k === b ? 0.5 : 0]),
          true,
        );
        const meanEnd = (losses[a]! + losses[b]!) / 2;
        const barrier = mid.loss - meanEnd;
        pairs.push({
          a,
          b,
          cosine: weightCosine(problem.ingredients[a]!, problem.ingredients[b]!),
          lossA: losses[a]!,
          lossB: losses[b]!,
          lossMidpoint: mid.loss,
          metricMidpoint: mid.metric,
          barrier,
          high: isHighBarrier(barrier, meanEnd),
        });
      }
    }
    const warnings = basinWarnings(pairs, names, ALIGN_HINT);
    return { pairs, warnings };
  } finally {
    writer.dispose();
  }
}
