// Small real models and data for the learning and evaluation tests (seeded, cpu backend, seconds to train).
import * as tf from "@tensorflow/tfjs";
import { mulberry32 } from "../../../src/core/random.js";
import type { SoupData, SoupProblem } from "../../../src/worker/learn/problem.js";

export const FEATURES = 4;
export const CLASSES = 3;

/** Three overlapping Gaussian blobs in FEATURES dimensions; y holds class indices. */
export function blobs(n: number, seed: number, spread = 1.4): SoupData {
  const random = mulberry32(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = [
    [1.5, 0, -1, 0.5],
    [-1, 1.5, 0.5, -0.5],
    [0, -1.5, 1, 1],
  ];
  const x = new Float32Array(n * FEATURES);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % CLASSES;
    y[i] = c;
    for (let f = 0; f < FEATURES; f++) x[i * FEATURES + f] = centres[c]![f]! + spread * gaussian();
  }
  return { x: tf.tensor2d(x, [n, FEATURES]), y: tf.tensor1d(y) };
}

export function disposeData(...data: SoupData[]): void {
  for (const d of data) tf.dispose([d.x, ...(d.y ? [d.y] : [])]);
}

export interface MlpOptions {
  readonly seed: number;
  readonly hidden?: number;
  readonly batchNorm?: boolean;
  readonly activation?: "tanh" | "relu";
  readonly output?: "softmax" | "linear";
}

export function mlp(options: MlpOptions): tf.Sequential {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: options.seed * 100 + k });
  const model = tf.sequential();
  model.add(
    tf.layers.dense({
      inputShape: [FEATURES],
      units: options.hidden ?? 8,
      activation: options.activation ?? "tanh",
      kernelInitializer: init(1),
      name: "hidden",
    }),
  );
  if (options.batchNorm) model.add(tf.layers.batchNormalization({ name: "norm" }));
  model.add(
    tf.layers.dense({
      units: CLASSES,
      activation: options.output ?? "softmax",
      kernelInitializer: init(2),
      name: "out",
    }),
  );
  return model;
}

/** The weights of a model as one Float32Array per weight, in model.weights order. */
export function weightsOf(model: tf.LayersModel): Float32Array[] {
  return model.weights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array));
}

export function setWeights(model: tf.LayersModel, values: Float32Array[]): void {
  model.weights.forEach((w, k) => tf.tidy(() => void w.write(tf.tensor(values[k]!, w.read().shape))));
}

/** A SoupProblem whose executor is a fresh model of the same architecture. */
export function problemOf(executor: tf.LayersModel, ingredients: Float32Array[][], base?: Float32Array[]): SoupProblem {
  const layerOf: string[] = [];
  for (const layer of executor.layers) for (const _ of layer.weights) layerOf.push(layer.name);
  const variables = executor.layers.flatMap((l) => l.weights);
  // Problem variable order follows layers; ingredient arrays follow model.weights: reorder to match.
  const order = variables.map((v) => executor.weights.indexOf(v));
  return {
    model: executor,
    variables,
    layerOf,
    ingredients: ingredients.map((ing) => order.map((k) => ing[k]!)),
    base: base === undefined ? undefined : order.map((k) => base[k]!),
  };
}

export async function train(
  model: tf.LayersModel,
  data: SoupData,
  epochs: number,
  learningRate: number,
): Promise<void> {
  model.compile({ optimizer: tf.train.adam(learningRate), loss: "sparseCategoricalCrossentropy" });
  await model.fit(data.x, data.y!, { epochs, batchSize: 32, shuffle: false, verbose: 0 });
}

export function rowsOf(data: SoupData, start: number, end: number): SoupData {
  return {
    x: data.x.slice([start], [end - start]),
    y: data.y === undefined ? undefined : data.y.slice([start], [end - start]),
  };
}

export interface FineTunes {
  readonly base: Float32Array[];
  readonly ingredients: Float32Array[][];
}

/**
 * A base model trained briefly on all data, then `count` copies fine-tuned on different slices with different
 * learning rates: ingredients that share a basin.
 */
export async function fineTunes(
  data: SoupData,
  count: number,
  options: Omit<MlpOptions, "seed"> & { seed?: number } = {},
): Promise<FineTunes> {
  const seed = options.seed ?? 1;
  const baseModel = mlp({ ...options, seed });
  await train(baseModel, data, 3, 0.02);
  const base = weightsOf(baseModel);
  const n = data.x.shape[0]!;
  const slice = Math.floor(n / count);
  const ingredients: Float32Array[][] = [];
  for (let i = 0; i < count; i++) {
    const model = mlp({ ...options, seed });
    setWeights(model, base);
    const part = rowsOf(data, i * slice, (i + 1) * slice);
    await train(model, part, 8, 0.01 * (1 + i));
    ingredients.push(weightsOf(model));
    disposeData(part);
    model.dispose();
  }
  baseModel.dispose();
  return { base, ingredients };
}

/**
 * A cancellation request that arrives the way a `$/cancelRequest` does: from a callback of a later event-loop turn
 * (after `turns` turns), so only code that yields to the event loop can ever see it. `onTurn` runs at each turn.
 */
export function cancelAfterTurns(turns: number, onTurn?: () => void): { readonly isCancellationRequested: boolean } {
  const state = { isCancellationRequested: false };
  let left = turns;
  const turn = () => {
    onTurn?.();
    if (--left <= 0) state.isCancellationRequested = true;
    else setImmediate(turn);
  };
  setImmediate(turn);
  return state;
}
