/**
 * Makes the bundled demo: the two data files and five small digit classifiers fine-tuned from ONE shared
 * pre-trained initialisation, so that they lie in one loss basin and can be averaged.
 *
 *   node --import tsx scripts/make-digits-sample.ts
 *
 * 1. digits.csv.gz (the original UCI file) is split once, 50 % / 50 %, stratified by class, seed 1, into
 *    ingredients-train.csv.gz (the ingredients' only training data) and soup.csv.gz (the demo's data, which it
 *    splits again with splitDataset's defaults into learn / validation / test for the coefficients). Rows are
 *    copied verbatim, in their original order. As in the model-soups paper, the coefficients are then learned on
 *    data that no ingredient has seen.
 * 2. The ingredients are pre-trained and fine-tuned on rows of ingredients-train.csv.gz only, read back from the
 *    written file. soup.csv.gz is read only to report each model's accuracy on the demo's validation and test
 *    splits.
 *
 * Deterministic: the splits are seeded, every other random choice comes from mulberry32 with a fixed seed, the
 * weights are initialised with seeded initialisers, and training runs on the cpu backend.
 *
 * The models see the raw 0..16 pixel counts: they are trained on x / 16 and the 1/16 is then folded into the
 * first layer's kernel (a Dense layer is linear in its input), so the saved files need no preprocessing.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { gunzipSync, gzipSync } from "node:zlib";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { writeFilesAtomically } from "../src/core/io/atomic.js";
import { loadDataset } from "../src/core/data/load.js";
import { mulberry32, shuffleInPlace } from "../src/core/random.js";
import { DEFAULT_SPLIT, splitDataset, subsetDataset } from "../src/core/data/split.js";
import type { Dataset } from "../src/core/data/dataset.js";

const SAMPLE = fileURLToPath(new URL("../samples/digits/", import.meta.url));
const PIXEL_SCALE = 1 / 16;
const HIDDEN = [64, 32];
const CLASSES = 10;
const BATCH = 32;

/** The one split between the ingredients' data and the soup's data; fixed before any result was seen. */
const DATA_SPLIT = { seed: 1, soupFraction: 0.5 };
const ORIGINAL = "digits.csv.gz";
const INGREDIENTS_TRAIN = "ingredients-train.csv.gz";
const SOUP = "soup.csv.gz";

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

/**
 * Splits the original CSV into the ingredients' part and the soup's part (stratified by class, seeded), writing
 * each part's lines verbatim in their original order.
 */
async function splitOriginal(): Promise<{ ingredientsRows: number; soupRows: number }> {
  const original = await loadDataset(join(SAMPLE, ORIGINAL));
  const lines = gunzipSync(await readFile(join(SAMPLE, ORIGINAL))).toString("utf8").split("\n").filter((l) => l !== "");
  if (lines.length !== original.xShape[0]) throw new Error(`${ORIGINAL}: ${lines.length} lines but ${original.xShape[0]} rows`);
  const parts = splitDataset(original, {
    seed: DATA_SPLIT.seed,
    fractions: { learn: 1 - DATA_SPLIT.soupFraction, validation: 0, test: DATA_SPLIT.soupFraction },
  });
  const write = (name: string, rows: Int32Array) =>
    writeFilesAtomically([{ path: join(SAMPLE, name), write: (p) => writeFile(p, gzipSync(Array.from(rows, (r) => `${lines[r]}\n`).join(""), { level: 9 })) }]);
  await write(INGREDIENTS_TRAIN, parts.indices.learn);
  await write(SOUP, parts.indices.test);
  return { ingredientsRows: parts.sizes.learn, soupRows: parts.sizes.test };
}

async function main(): Promise<void> {
  await tf.setBackend("cpu");
  const { ingredientsRows, soupRows } = await splitOriginal();
  console.log(`${ORIGINAL} split (seed ${DATA_SPLIT.seed}, stratified): ${INGREDIENTS_TRAIN} ${ingredientsRows} rows, ${SOUP} ${soupRows} rows`);
  const ingredientsTrain = await loadDataset(join(SAMPLE, INGREDIENTS_TRAIN));
  const split = splitDataset(await loadDataset(join(SAMPLE, SOUP)), DEFAULT_SPLIT);
  console.log(`${SOUP} split seed ${split.seed}: learn ${split.sizes.learn}, validation ${split.sizes.validation}, test ${split.sizes.test}`);

  const base = buildModel(PRETRAIN.seed * 100);
  const pretrainRows = pickRows(ingredientsTrain, PRETRAIN.fraction, PRETRAIN.seed);
  await train(base, pretrainRows, PRETRAIN.epochs, PRETRAIN.learningRate, PRETRAIN.seed);
  const baseAccuracy = accuracy((x) => base.predict(x.mul(PIXEL_SCALE)) as tf.Tensor, split.test);
  console.log(`pre-trained on ${pretrainRows.xShape[0]} rows: soup test accuracy ${baseAccuracy.toFixed(4)}`);

  const ingredients: tf.Sequential[] = [];
  const report = [];
  for (const [i, ft] of FINE_TUNES.entries()) {
    const model = copyOf(base);
    const rows = pickRows(ingredientsTrain, ft.fraction, ft.seed);
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
    data: {
      original: ORIGINAL,
      split: { function: "splitDataset (src/core/data/split.ts), learn part -> ingredients, test part -> soup", seed: DATA_SPLIT.seed, stratified: true },
      ingredientsTrain: { file: INGREDIENTS_TRAIN, rows: ingredientsRows },
      soup: { file: SOUP, rows: soupRows },
    },
    soupSplit: { function: "splitDataset (src/core/data/split.ts)", seed: split.seed, fractions: split.fractions, stratified: split.stratified, sizes: split.sizes },
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
