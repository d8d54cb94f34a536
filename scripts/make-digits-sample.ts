/**
 * Makes the bundled demo's ingredients: five small digit classifiers fine-tuned from ONE shared pre-trained
 * initialisation, so that they lie in one loss basin and can be averaged.
 *
 *   node --import tsx scripts/make-digits-sample.ts
 *
 * Deterministic: the data split is the demo's default (splitDataset, seed 0, learn/validation/test 60/20/20,
 * stratified), every other random choice comes from mulberry32 with a fixed seed, the weights are initialised
 * with seeded initialisers, and training runs on the cpu backend. Only rows of the LEARN split are used, so the
 * demo's validation and test splits are unseen by every ingredient.
 *
 * The models see the raw 0..16 pixel counts: they are trained on x / 16 and the 1/16 is then folded into the
 * first layer's kernel (a Dense layer is linear in its input), so the saved files need no preprocessing.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { writeFilesAtomically } from "../src/core/io/atomic.js";
import { loadDataset } from "../src/core/data/load.js";
import { mulberry32, shuffleInPlace } from "../src/core/data/random.js";
import { DEFAULT_SPLIT, splitDataset, subsetDataset } from "../src/core/data/split.js";
import type { Dataset } from "../src/core/data/dataset.js";

const SAMPLE = fileURLToPath(new URL("../samples/digits/", import.meta.url));
const PIXEL_SCALE = 1 / 16;
const HIDDEN = [64, 32];
const CLASSES = 10;
const BATCH = 32;

const PRETRAIN = { seed: 1, fraction: 0.4, epochs: 3, learningRate: 0.01 };
/** Chosen before looking at any result: a spread of subsets, seeds, learning rates and lengths. */
const FINE_TUNES = [
  { seed: 11, fraction: 0.7, epochs: 12, learningRate: 0.003 },
  { seed: 12, fraction: 0.7, epochs: 8, learningRate: 0.005 },
  { seed: 13, fraction: 0.5, epochs: 15, learningRate: 0.002 },
  { seed: 14, fraction: 0.6, epochs: 6, learningRate: 0.01 },
  { seed: 15, fraction: 0.8, epochs: 10, learningRate: 0.004 },
];

function buildModel(initSeed: number): tf.Sequential {
  const model = tf.sequential({ name: "digits_mlp" });
  HIDDEN.forEach((units, i) =>
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
      kernelInitializer: tf.initializers.glorotUniform({ seed: initSeed + HIDDEN.length }),
    }),
  );
  return model;
}

/** A seeded random subset of the dataset's rows (a fraction of them). */
function pickRows(dataset: Dataset, fraction: number, seed: number): Dataset {
  const rows = Array.from({ length: dataset.xShape[0]! }, (_, i) => i);
  shuffleInPlace(rows, mulberry32(seed));
  return subsetDataset(dataset, rows.slice(0, Math.round(rows.length * fraction)));
}

/** Adam on sparse categorical cross-entropy; each epoch's batch order is a seeded shuffle (tfjs's uses Math.random). */
async function train(model: tf.LayersModel, data: Dataset, epochs: number, learningRate: number, seed: number): Promise<void> {
  model.compile({ optimizer: tf.train.adam(learningRate), loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"] });
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

function copyOf(model: tf.LayersModel): tf.Sequential {
  const copy = buildModel(0);
  copy.setWeights(model.getWeights().map((w) => w.clone()));
  return copy;
}

/** Folds the input scaling into the first layer: relu((x/16)·K + b) = relu(x·(K/16) + b). */
function foldPixelScale(model: tf.LayersModel): void {
  const first = model.getLayer("hidden1");
  const [kernel, bias] = first.getWeights();
  first.setWeights([kernel!.mul(PIXEL_SCALE), bias!]);
}

function accuracy(predict: (x: tf.Tensor2D) => tf.Tensor, data: Dataset): number {
  return tf.tidy(() => {
    const x = tf.tensor2d(data.x, [data.xShape[0]!, 64]);
    const predicted = predict(x).argMax(-1).dataSync();
    let right = 0;
    predicted.forEach((p, i) => (right += p === data.y![i] ? 1 : 0));
    return right / predicted.length;
  });
}

async function save(model: tf.LayersModel, folder: string): Promise<number> {
  let bytes = 0;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData!;
      const weights = new Uint8Array(Array.isArray(weightData) ? tf.io.concatenateArrayBuffers(weightData) : weightData);
      const modelJson = {
        format: "layers-model",
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        // Keras's training_config without optimizer state: the loss tells the demo what to minimise.
        trainingConfig: {
          loss: "sparse_categorical_crossentropy",
          metrics: ["accuracy"],
          optimizer_config: { class_name: "Adam", config: { learning_rate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } },
        },
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

async function main(): Promise<void> {
  await tf.setBackend("cpu");
  const digits = await loadDataset(join(SAMPLE, "digits.csv.gz"));
  const split = splitDataset(digits, DEFAULT_SPLIT);
  console.log(`split seed ${split.seed}: learn ${split.sizes.learn}, validation ${split.sizes.validation}, test ${split.sizes.test}`);

  const base = buildModel(PRETRAIN.seed * 100);
  const pretrainRows = pickRows(split.learn, PRETRAIN.fraction, PRETRAIN.seed);
  await train(base, pretrainRows, PRETRAIN.epochs, PRETRAIN.learningRate, PRETRAIN.seed);
  const baseAccuracy = accuracy((x) => base.predict(x.mul(PIXEL_SCALE)) as tf.Tensor, split.test);
  console.log(`pre-trained on ${pretrainRows.xShape[0]} learn rows: test accuracy ${baseAccuracy.toFixed(4)}`);

  const ingredients: tf.Sequential[] = [];
  const report = [];
  for (const [i, ft] of FINE_TUNES.entries()) {
    const model = copyOf(base);
    const rows = pickRows(split.learn, ft.fraction, ft.seed);
    await train(model, rows, ft.epochs, ft.learningRate, ft.seed);
    foldPixelScale(model);
    const folder = join(SAMPLE, "models", `ingredient-${i + 1}`);
    const bytes = await save(model, folder);
    const test = accuracy((x) => model.predict(x) as tf.Tensor, split.test);
    const validation = accuracy((x) => model.predict(x) as tf.Tensor, split.validation);
    report.push({ ingredient: i + 1, rows: rows.xShape[0], ...ft, weightBytes: bytes, validationAccuracy: validation, testAccuracy: test });
    console.log(`ingredient-${i + 1}: ${rows.xShape[0]} rows, ${ft.epochs} epochs, lr ${ft.learningRate}: validation ${validation.toFixed(4)}, test ${test.toFixed(4)}`);
    ingredients.push(model);
  }

  // References for the README: the uniform soup (plain weight average) and the output ensemble.
  const soup = copyOf(ingredients[0]!);
  soup.setWeights(soup.getWeights().map((_, k) => tf.tidy(() => tf.addN(ingredients.map((m) => m.getWeights()[k]!)).div(ingredients.length))));
  const uniformTest = accuracy((x) => soup.predict(x) as tf.Tensor, split.test);
  const ensembleTest = accuracy((x) => tf.addN(ingredients.map((m) => m.predict(x) as tf.Tensor)).div(ingredients.length), split.test);
  console.log(`uniform soup: test ${uniformTest.toFixed(4)}; output ensemble: test ${ensembleTest.toFixed(4)}`);

  const summary = {
    data: "digits.csv.gz",
    split: { function: "splitDataset (src/core/data/split.ts)", seed: split.seed, fractions: split.fractions, stratified: split.stratified, sizes: split.sizes },
    preprocessing: "none at use time: trained on pixel/16, with the 1/16 folded into hidden1's kernel",
    architecture: `Dense ${[...HIDDEN, CLASSES].join("-")} (relu, relu, softmax) on 64 inputs`,
    backend: tf.getBackend(),
    pretrain: { ...PRETRAIN, rows: pretrainRows.xShape[0], testAccuracy: baseAccuracy },
    ingredients: report,
    uniformSoupTestAccuracy: uniformTest,
    ensembleTestAccuracy: ensembleTest,
  };
  await writeFile(join(SAMPLE, "models", "training.json"), JSON.stringify(summary, null, 1) + "\n");
}

await main();
