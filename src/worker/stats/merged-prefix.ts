/**
 * RegMean++'s statistics: the linear maps are merged one after another from the input up, and the Gram matrix of
 * map l is taken on the inputs that the model merged so far produces (maps before l merged by RegMean on their own
 * Gram matrices, every other tensor the plain average, as RegMean leaves it), rather than on each ingredient's own
 * features. With one data set for every ingredient, as here, the inputs of map l are the same rows for every
 * ingredient, so each ingredient's entry is the same matrix.
 */
import * as tf from "@tensorflow/tfjs";
import type { Cancellation } from "../../core/cancellation.js";
import type { TensorStatistics } from "../../core/merge/method.js";
import { uniformAverage } from "../../core/merge/methods/linear.js";
import { DEFAULT_REGMEAN_ALPHA, regmeanKernel } from "../../core/merge/methods/regmean.js";
import type { SoupData, SoupProblem } from "../learn/problem.js";
import { gramMatrices, linearMaps } from "./gram.js";

export interface MergedPrefixOptions {
  /** Manifest tensor name of every variable of the problem (same order). */
  tensorNames: readonly string[];
  alpha?: number;
  batchSize: number;
  cancel?: Cancellation;
  /** Called before each linear map. */
  onLayer?: (index: number) => void;
}

export async function mergedPrefixGrams(
  problem: SoupProblem,
  data: SoupData,
  options: MergedPrefixOptions,
): Promise<{ statistics: Map<string, TensorStatistics>; notes: string[] }> {
  const { maps, notes } = linearMaps(problem.model);
  const statistics = new Map<string, TensorStatistics>();
  const n = problem.ingredients.length;
  const alpha = options.alpha ?? DEFAULT_REGMEAN_ALPHA;
  problem.variables.forEach((v, k) => {
    const average = uniformAverage(
      problem.ingredients.map((ingredient) => ingredient[k]!),
      options.tensorNames[k] ?? v.name,
    );
    const t = tf.tensor(average, v.shape as number[]);
    v.write(t);
    t.dispose();
  });
  const kept = maps.filter((m) => options.tensorNames[problem.variables.indexOf(m.kernel)] !== undefined);
  for (const [index, map] of kept.entries()) {
    options.onLayer?.(index);
    const k = problem.variables.indexOf(map.kernel);
    const name = options.tensorNames[k]!;
    const [gram] = await gramMatrices(problem.model, [map], data.x, options.batchSize, options.cancel);
    const grams = Array.from({ length: n }, () => gram!);
    statistics.set(name, { gram: grams });
    // Ridge warnings are left to the merge itself, which solves the same system again from these statistics.
    const merged = regmeanKernel(
      map.kernel.shape as number[],
      problem.ingredients.map((ingredient) => ingredient[k]!),
      grams,
      alpha,
      name,
    );
    const t = tf.tensor(merged, map.kernel.shape as number[]);
    map.kernel.write(t);
    t.dispose();
  }
  return { statistics, notes };
}
