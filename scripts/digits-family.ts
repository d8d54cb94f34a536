/**
 * Makes families of digit classifiers fine-tuned from one shared pre-trained initialisation: used by
 * make-digits-sample.ts (the demo), make-learn-family.ts (the test fixture) and bench/learn-defaults (the
 * experiments behind the learner's defaults). Deterministic: seeded initialisers, seeded batch order
 * (mulberry32), the tfjs cpu backend.
 *
 * The models see the raw 0..16 pixel counts: they are trained on x / 16 and the 1/16 is then folded into the
 * first layer's kernel (a Dense layer is linear in its input), so the saved files need no preprocessing.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { writeFilesAtomically } from "../src/core/io/atomic.js";
import { mulberry32, shuffleInPlace } from "../src/core/random.js";
import { subsetDataset } from "../src/core/data/split.js";
import type { Dataset } from "../src/core/data/dataset.js";

export const PIXEL_SCALE = 1 / 16;
const CLASSES = 10;
const BATCH = 32;

export interface TrainSpec {
  seed: number;
  /** Fraction of the (class-filtered) training rows, a seeded subset. */
  fraction: number;
  epochs: number;
  learningRate: number;
  /** Only rows of these classes (a fine-tune on a subset of classes); default all. */
  classes?: number[];
}

export function buildModel(hidden: readonly number[], initSeed: number): tf.Sequential {
  const model = tf.sequential({ name: "digits_mlp" });
  hidden.forEach((units, i) =>
    model.add(
      tf.layers.dense({
        name: `hidden${i + 1}`,
        units,
        activation: "relu",
        kernelInitializer: tf.initializers.glorotUniform({ seed: initSeed + i }),
        ...(i === 0 ? { inputShape: [64] } : {}),
      }),
    ),
  );
  model.add(
    tf.layers.dense({
      name: "output",
      units: CLASSES,
      activation: "softmax",
      kernelInitializer: tf.initializers.glorotUniform({ seed: initSeed + hidden.length }),
    }),
  );
  return model;
}

/** A seeded random subset of the dataset's rows (a fraction of them), after keeping only `classes` if given. */
export function pickRows(dataset: Dataset, fraction: number, seed: number, classes?: readonly number[]): Dataset {
  let rows = Array.from({ length: dataset.xShape[0]! }, (_, i) => i);
  if (classes !== undefined) rows = rows.filter((r) => classes.includes(dataset.y![r]!));
  shuffleInPlace(rows, mulberry32(seed));
  return subsetDataset(dataset, rows.slice(0, Math.round(rows.length * fraction)));
}

/** Adam on sparse categorical cross-entropy; each epoch's batch order is a seeded shuffle (tfjs's uses Math.random). */
export async function train(
  model: tf.LayersModel,
  data: Dataset,
  epochs: number,
  learningRate: number,
  seed: number,
): Promise<void> {
  model.compile({
    optimizer: tf.train.adam(learningRate),
    loss: "sparseCategoricalCrossentropy",
    metrics: ["accuracy"],
  });
  const random = mulberry32(seed);
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = Array.from({ length: data.xShape[0]! }, (_, i) => i);
    shuffleInPlace(order, random);
    const shuffled = subsetDataset(data, order);
    const x = tf.tensor2d(shuffled.x, [order.length, 64]).mul(PIXEL_SCALE);
    const y = tf.tensor1d(Float32Array.from(shuffled.y!));
    await model.fit(x, y, { epochs: 1, batchSize: BATCH, shuffle: false, verbose: 0 });
    tf.dispose([x, y]);
  }
}

export function copyOf(model: tf.LayersModel, hidden: readonly number[]): tf.Sequential {
  const copy = buildModel(hidden, 0);
  copy.setWeights(model.getWeights().map((w) => w.clone()));
  return copy;
}

/** Folds the input scaling into the first layer: relu((x/16)·K + b) = relu(x·(K/16) + b). */
export function foldPixelScale(model: tf.LayersModel): void {
  const first = model.getLayer("hidden1");
  const [kernel, bias] = first.getWeights();
  first.setWeights([kernel!.mul(PIXEL_SCALE), bias!]);
}

/** Accuracy of `predict` on raw-pixel data. */
export function accuracy(predict: (x: tf.Tensor2D) => tf.Tensor, data: Dataset): number {
  return tf.tidy(() => {
    const x = tf.tensor2d(data.x, [data.xShape[0]!, 64]);
    const predicted = predict(x).argMax(-1).dataSync();
    let right = 0;
    predicted.forEach((p, i) => (right += p === data.y![i] ? 1 : 0));
    return right / predicted.length;
  });
}

/** Keras's training_config of the family, without optimizer state: the loss tells the learner what to minimise. */
const FAMILY_TRAINING_CONFIG = {
  loss: "sparse_categorical_crossentropy",
  metrics: ["accuracy"],
  optimizer_config: {
    class_name: "Adam",
    config: { learning_rate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
  },
};

/**
 * Writes the model as TF.js layers (model.json + weights.bin, both or neither) with the given Keras
 * trainingConfig; returns the weight bytes.
 */
export async function saveModelJson(model: tf.LayersModel, folder: string, trainingConfig: unknown): Promise<number> {
  let bytes = 0;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData!;
      const weights = new Uint8Array(
        Array.isArray(weightData) ? tf.io.concatenateArrayBuffers(weightData) : weightData,
      );
      const modelJson = {
        format: "layers-model",
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        trainingConfig,
        weightsManifest: [{ paths: ["weights.bin"], weights: artifacts.weightSpecs }],
      };
      await mkdir(folder, { recursive: true });
      await writeFilesAtomically([
        { path: join(folder, "weights.bin"), write: (p) => writeFile(p, weights) },
        { path: join(folder, "model.json"), write: (p) => writeFile(p, JSON.stringify(modelJson, null, 1) + "\n") },
      ]);
      bytes = weights.length;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON", weightDataBytes: bytes } };
    }),
  );
  return bytes;
}

/** Writes a model of the family as TF.js layers with the family's trainingConfig; returns the weight bytes. */
export function save(model: tf.LayersModel, folder: string): Promise<number> {
  return saveModelJson(model, folder, FAMILY_TRAINING_CONFIG);
}

/** The pre-trained base and its fine-tunes (pixel scale folded in), in memory. */
export async function makeFamily(
  trainRows: Dataset,
  hidden: readonly number[],
  pretrain: TrainSpec,
  fineTunes: readonly TrainSpec[],
): Promise<{ base: tf.Sequential; pretrainRows: number; models: tf.Sequential[]; rows: number[] }> {
  const base = buildModel(hidden, pretrain.seed * 100);
  const pre = pickRows(trainRows, pretrain.fraction, pretrain.seed, pretrain.classes);
  await train(base, pre, pretrain.epochs, pretrain.learningRate, pretrain.seed);
  const models: tf.Sequential[] = [];
  const rows: number[] = [];
  for (const ft of fineTunes) {
    const model = copyOf(base, hidden);
    const data = pickRows(trainRows, ft.fraction, ft.seed, ft.classes);
    await train(model, data, ft.epochs, ft.learningRate, ft.seed);
    foldPixelScale(model);
    models.push(model);
    rows.push(data.xShape[0]!);
  }
  return { base, pretrainRows: pre.xShape[0]!, models, rows };
}

/** The uniform soup of models of one architecture (a copy). */
export function uniformSoup(models: readonly tf.LayersModel[], hidden: readonly number[]): tf.Sequential {
  const soup = copyOf(models[0]!, hidden);
  soup.setWeights(
    soup.getWeights().map((_, k) => tf.tidy(() => tf.addN(models.map((m) => m.getWeights()[k]!)).div(models.length))),
  );
  return soup;
}
