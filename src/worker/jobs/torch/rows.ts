/**
 * The comparison rows of a PyTorch job, through the engine, by the rules the TensorFlow.js rows follow
 * (evaluate/rows.ts, evaluate/greedy.ts, evaluate/evaluate.ts, evaluate/mergeability.ts): a soup is its weights
 * and its BatchNormalization statistics, re-estimated on learn when that lowers the validation loss (a single
 * ingredient is itself); the greedy soup adds ingredients by validation loss, best first, keeping each that does
 * not raise it; the test figures are scored in TypeScript (loss.ts, score.ts) on the engine's predictions.
 */
import * as tf from "@tensorflow/tfjs";
import type { Dataset } from "../../../core/data/index.js";
import { UsageError } from "../../../core/errors.js";
import { ALIGN_HINT, basinWarnings, isHighBarrier } from "../../../core/report/basin.js";
import type { PairMergeability } from "../../../protocol/worker.js";
import type { BatchNormState, SoupEngine } from "../../engine/soup-engine.js";
import { weightCosine } from "../../evaluate/mergeability.js";
import { labelClassCounts, metricBetter, scorePredictions, type Score } from "../../evaluate/score.js";
import { isSingleMix, singleMix, subsetMix, uniformMix, type Mix } from "../../evaluate/soup.js";
import { chooseBatchNorm } from "../../learn/batchnorm-choice.js";
import { probabilityTask, sampleEntropy, toProbabilities, type Task } from "../../learn/loss.js";
import type { Objective } from "../../learn/objective.js";
import type { IngredientTensors } from "../../torch/torch-engine.js";

/** A soup as it is written: its coefficients, and its re-estimated statistics when those were kept. */
export interface EngineSoup {
  readonly mix: Mix;
  readonly statistics?: BatchNormState;
}

/** A soup and its validation score (none without labelled validation rows). */
export interface SettledEngineSoup {
  readonly soup: EngineSoup;
  readonly validation?: Score;
}

/** Writes a mix (model or layer granularity) into the engine. */
export async function writeMix(engine: SoupEngine, mix: Mix): Promise<void> {
  const groups = mix.groups ?? ["*"];
  const G = groups.length;
  const alpha = new Float64Array(engine.ingredients * G);
  mix.coefficients.forEach((c, i) => c.forEach((a, k) => (alpha[i * G + k] = a)));
  const groupOf = engine.layerOf.map((layer) => {
    if (G === 1) return 0;
    const k = groups.indexOf(layer);
    if (k === -1) throw new UsageError(`the coefficients name no group for layer "${layer}"`);
    return k;
  });
  await engine.write(alpha, { groupOf, groups: G });
}

/** Writes a soup as it is written to a file: its coefficients, then its kept statistics. */
export async function writeEngineSoup(engine: SoupEngine, soup: EngineSoup): Promise<void> {
  await writeMix(engine, soup.mix);
  if (soup.statistics !== undefined) await engine.writeBatchNorm(soup.statistics);
}

const VALIDATION = { split: "validation" } as const;
const LEARN = { split: "learn" } as const;

/** A mix settled as every command settles a soup; `labelled`: the validation split has labelled rows. */
export async function settleEngineSoup(
  engine: SoupEngine,
  mix: Mix,
  objective: Objective,
  labelled: boolean,
): Promise<SettledEngineSoup> {
  await writeMix(engine, mix);
  if (!labelled) return { soup: { mix } };
  const score = async (): Promise<Score> => {
    const s = await engine.score(VALIDATION, objective);
    return { loss: s.loss, metric: s.metric ?? Number.NaN };
  };
  const choice = await chooseBatchNorm(engine, score, isSingleMix(mix) ? undefined : LEARN);
  return {
    soup: { mix, ...(choice.statistics !== undefined ? { statistics: choice.statistics } : {}) },
    validation: choice.score,
  };
}

export interface EngineGreedySoup extends SettledEngineSoup {
  /** Ingredients kept, in the order they were added. */
  readonly kept: number[];
}

/** The greedy soup (evaluate/greedy.ts's rule), every soup tried scored with the statistics it would be written with. */
export async function greedyEngineSoup(engine: SoupEngine, objective: Objective): Promise<EngineGreedySoup> {
  const n = engine.ingredients;
  const task = objective.task;
  const ranking: Array<{ ingredient: number; score: Score }> = [];
  for (let i = 0; i < n; i++) {
    const settled = await settleEngineSoup(engine, singleMix(n, i), objective, true);
    ranking.push({ ingredient: i, score: settled.validation! });
  }
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
  for (const { ingredient } of ranking.slice(1)) {
    const candidate = await settleEngineSoup(engine, subsetMix(n, [...kept, ingredient]), objective, true);
    if (candidate.validation!.loss <= current.loss) {
      kept.push(ingredient);
      current = candidate.validation!;
    }
  }
  return { ...(await settleEngineSoup(engine, subsetMix(n, kept), objective, true)), kept };
}

/** The uniform soup row. */
export function uniformEngineSoup(engine: SoupEngine, objective: Objective, labelled: boolean) {
  return settleEngineSoup(engine, uniformMix(engine.ingredients), objective, labelled);
}

/** The test split's labels as the TypeScript scoring takes them; none when judged label-free. */
function labelTensor(dataset: Dataset, byLabels: boolean): tf.Tensor | undefined {
  if (dataset.y === undefined || !byLabels) return undefined;
  return dataset.y instanceof Int32Array
    ? tf.tensor1d(dataset.y, "int32")
    : tf.tensor(dataset.y, dataset.yShape ?? [dataset.y.length], "float32");
}

/** The engine's predictions of the soup now written, on the test split. */
async function testPredictions(engine: SoupEngine): Promise<tf.Tensor> {
  const { values, shape } = await engine.predict({ split: "test" });
  return tf.tensor(values, [...shape]);
}

/** How a comparison scores predictions: by the labels, or label-free by the mean prediction entropy. */
function scorer(task: Task, y: tf.Tensor | undefined): (pred: tf.Tensor, probabilities?: boolean) => Score {
  return (pred, probabilities = false) => {
    const t = probabilities ? probabilityTask(task) : task;
    if (y !== undefined) return scorePredictions(t, pred, y);
    const entropy = tf.tidy(() => sampleEntropy(t, pred).mean().dataSync()[0]!);
    return { loss: entropy, metric: entropy };
  };
}

export interface EngineComparison {
  readonly ingredients: Score[];
  readonly soups: Score[];
  readonly ensemble: Score;
  readonly classCounts?: number[];
}

/**
 * Each ingredient, the given soups (as they are written) and the output ensemble (averaged probabilities) on the
 * test split; label-free test rows are scored by the mean prediction entropy.
 */
export async function compareOnTest(
  engine: SoupEngine,
  task: Task,
  test: Dataset,
  soups: readonly EngineSoup[],
  byLabels: boolean,
): Promise<EngineComparison> {
  const y = labelTensor(test, byLabels);
  const score = scorer(task, y);
  const n = engine.ingredients;
  let sum: tf.Tensor | undefined;
  try {
    const ingredients: Score[] = [];
    let classCounts: number[] | undefined;
    for (let i = 0; i < n; i++) {
      await writeMix(engine, singleMix(n, i));
      const pred = await testPredictions(engine);
      ingredients.push(score(pred));
      if (i === 0 && y !== undefined) classCounts = labelClassCounts(task, pred, y);
      const probabilities = toProbabilities(task, pred);
      pred.dispose();
      const next = sum === undefined ? probabilities : sum.add(probabilities);
      if (sum !== undefined) tf.dispose([sum, probabilities]);
      sum = next;
    }
    const mean = sum!.div(n);
    const ensemble = score(mean, true);
    mean.dispose();
    const scored: Score[] = [];
    for (const soup of soups) {
      await writeEngineSoup(engine, soup);
      const pred = await testPredictions(engine);
      scored.push(score(pred));
      pred.dispose();
    }
    return { ingredients, soups: scored, ensemble, ...(classCounts !== undefined ? { classCounts } : {}) };
  } finally {
    sum?.dispose();
    y?.dispose();
  }
}

/** The test score of the soup now written in `engine` (a written file's check). */
export async function scoreWrittenOnTest(
  engine: SoupEngine,
  task: Task,
  test: Dataset,
  byLabels: boolean,
): Promise<Score> {
  const y = labelTensor(test, byLabels);
  const pred = await testPredictions(engine);
  try {
    return scorer(task, y)(pred);
  } finally {
    pred.dispose();
    y?.dispose();
  }
}

/** The floating tensors of an ingredient in the first ingredient's order, for the weight cosine. */
function floatingValues(ingredient: IngredientTensors, names: readonly string[]): Float32Array[] {
  const byName = new Map(ingredient.tensors.map((t) => [t.name, t]));
  return names.map((name) => byName.get(name)!.data as Float32Array);
}

/** Each pair's weight cosine and loss barrier at the midpoint on validation (evaluate/mergeability.ts). */
export async function engineMergeability(
  engine: SoupEngine,
  objective: Objective,
  ingredients: readonly IngredientTensors[],
  models: readonly string[],
  names: readonly string[],
): Promise<{ pairs: PairMergeability[]; warnings: string[] }> {
  const n = engine.ingredients;
  const floating = ingredients[0]!.tensors.filter((t) => t.data instanceof Float32Array).map((t) => t.name);
  const values = ingredients.map((ing) => floatingValues(ing, floating));
  const losses: number[] = [];
  for (let i = 0; i < n; i++) {
    await writeMix(engine, singleMix(n, i));
    losses.push((await engine.score(VALIDATION, objective)).loss);
  }
  const found: Array<{
    a: number;
    b: number;
    lossA: number;
    lossB: number;
    lossMidpoint: number;
    barrier: number;
    high: boolean;
    cosine: number;
  }> = [];
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      await writeMix(engine, { coefficients: Array.from({ length: n }, (_, k) => [k === a || k === b ? 0.5 : 0]) });
      const mid = (await engine.score(VALIDATION, objective)).loss;
      const meanEnd = (losses[a]! + losses[b]!) / 2;
      const barrier = mid - meanEnd;
      found.push({
        a,
        b,
        lossA: losses[a]!,
        lossB: losses[b]!,
        lossMidpoint: mid,
        barrier,
        high: isHighBarrier(barrier, meanEnd),
        cosine: weightCosine(values[a]!, values[b]!),
      });
    }
  }
  return {
    pairs: found.map((p) => ({
      a: models[p.a]!,
      b: models[p.b]!,
      cosine: p.cosine,
      midpointLoss: p.lossMidpoint,
      endpointLoss: [p.lossA, p.lossB],
      barrier: p.barrier,
    })),
    warnings: basinWarnings(found, names, ALIGN_HINT),
  };
}
