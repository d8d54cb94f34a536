/**
 * The data statistics of a data-aware merge (RegMean's Gram matrices, Fisher's diagonals), computed one ingredient
 * at a time in the one executable model: memory holds the model, the statistics gathered so far (one Gram matrix
 * per linear map, or one Fisher value per weight, per ingredient) and one batch.
 */
import * as tf from "@tensorflow/tfjs";
import type { TensorStatistics } from "../../core/merge/method.js";
import type { MergeStatistics } from "../../core/merge/plan.js";
import type { Cancellation } from "../../core/cancellation.js";
import type { Task } from "../learn/loss.js";
import type { SoupData, SoupProblem } from "../learn/problem.js";
import { diagonalFisher } from "./fisher.js";
import { gramMatrices, linearMaps } from "./gram.js";
import { mergedPrefixGrams } from "./merged-prefix.js";

export { DEFAULT_FISHER_EXAMPLES, diagonalFisher } from "./fisher.js";
export { gramMatrices, linearMaps, type LinearMap } from "./gram.js";
export { conv2dGeometry, conv2dPatches, type Conv2DGeometry } from "./patches.js";

export type StatisticsKind = "regmean" | "fisher" | "regmean_plusplus";

/** Rows per forward pass when gathering Gram matrices. */
const GRAM_BATCH = 256;

export interface StatisticsOptions {
  /** Manifest tensor name of every variable of `problem` (same order). */
  tensorNames: readonly string[];
  /** The task whose log-likelihood the Fisher differentiates. */
  task: Task;
  /** Fisher: examples of `data` used. */
  examples?: number;
  /** Fisher: "prediction" ignores the data's labels and uses each model's own prediction. */
  fisherTarget?: "labels" | "prediction";
  /** RegMean++: the off-diagonal scaling of the kernels it merges on the way up (RegMean's α). */
  alpha?: number;
  cancel?: Cancellation;
  /** Called before each ingredient. */
  onIngredient?: (index: number) => void;
}

export interface ComputedStatistics {
  statistics: MergeStatistics;
  /** Layers left to the plain average and why. */
  notes: string[];
}

/** Writes ingredient i's values into the model's variables. */
export function writeIngredient(problem: SoupProblem, values: readonly Float32Array[]): void {
  problem.variables.forEach((v, k) => {
    const t = tf.tensor(values[k]!, v.shape as number[]);
    v.write(t);
    t.dispose();
  });
}

export async function computeStatistics(
  problem: SoupProblem,
  data: SoupData,
  kind: StatisticsKind,
  options: StatisticsOptions,
): Promise<ComputedStatistics> {
  const byTensor = new Map<string, TensorStatistics>();
  const notes: string[] = [];
  const n = problem.ingredients.length;
  if (kind === "regmean_plusplus") {
    return mergedPrefixGrams(problem, data, {
      tensorNames: options.tensorNames,
      alpha: options.alpha,
      batchSize: GRAM_BATCH,
      cancel: options.cancel,
      onLayer: options.onIngredient,
    });
  }
  if (kind === "regmean") {
    const { maps, notes: mapNotes } = linearMaps(problem.model);
    notes.push(...mapNotes);
    const names = maps.map((m) => options.tensorNames[problem.variables.indexOf(m.kernel)]);
    const kept = maps.filter((_, k) => names[k] !== undefined);
    const grams: Float64Array[][] = kept.map(() => []);
    for (let i = 0; i < n; i++) {
      options.onIngredient?.(i);
      writeIngredient(problem, problem.ingredients[i]!);
      const g = await gramMatrices(problem.model, kept, data.x, GRAM_BATCH, options.cancel);
      g.forEach((m, k) => grams[k]!.push(m));
    }
    kept.forEach((m, k) =>
      byTensor.set(options.tensorNames[problem.variables.indexOf(m.kernel)]!, { gram: grams[k]! }),
    );
  } else {
    const trainable = problem.variables.map((v, k) => ({ v, k })).filter(({ v }) => v.trainable);
    const fishers: Float32Array[][] = trainable.map(() => []);
    for (let i = 0; i < n; i++) {
      options.onIngredient?.(i);
      writeIngredient(problem, problem.ingredients[i]!);
      const f = await diagonalFisher(
        problem.model,
        trainable.map(({ v }) => v),
        options.task,
        data.x,
        options.fisherTarget === "prediction" ? undefined : data.y,
        { examples: options.examples, cancel: options.cancel },
      );
      f.forEach((values, j) => fishers[j]!.push(values));
    }
    trainable.forEach(({ k }, j) => byTensor.set(options.tensorNames[k]!, { fisher: fishers[j]! }));
  }
  return { statistics: byTensor, notes };
}
