/**
 * Makes the bundled demo: the two data files and seven small digit classifiers fine-tuned from ONE shared
 * pre-trained initialisation, so that they lie in one loss basin and can be averaged. Five are good fine-tunes;
 * two are harmful in the ways real checkpoints are: one fine-tuned with a too-high learning rate, one
 * fine-tuned on three classes only.
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
 * Deterministic: see digits-family.ts. Ingredients 1-5 are the five of the first version of the sample, byte for
 * byte (same settings, same order); 6 and 7 were added with settings fixed before they were trained.
 */
import { readFile, writeFile } from "node:fs/promises";
import { gunzipSync, gzipSync } from "node:zlib";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { writeFilesAtomically } from "../src/core/io/atomic.js";
import { loadDataset } from "../src/core/data/load.js";
import { DEFAULT_SPLIT, splitDataset } from "../src/core/data/split.js";
import { accuracy, makeFamily, PIXEL_SCALE, save, uniformSoup, type TrainSpec } from "./digits-family.js";

const SAMPLE = fileURLToPath(new URL("../samples/digits/", import.meta.url));
const HIDDEN = [64, 32];

/** The one split between the ingredients' data and the soup's data; fixed before any result was seen. */
const DATA_SPLIT = { seed: 1, soupFraction: 0.5 };
const ORIGINAL = "digits.csv.gz";
const INGREDIENTS_TRAIN = "ingredients-train.csv.gz";
const SOUP = "soup.csv.gz";

const PRETRAIN = { seed: 1, fraction: 0.4, epochs: 3, learningRate: 0.01 };
/** Chosen before looking at any result: a spread of subsets, seeds, learning rates and lengths. */
const FINE_TUNES: TrainSpec[] = [
  { seed: 11, fraction: 0.7, epochs: 12, learningRate: 0.003 },
  { seed: 12, fraction: 0.7, epochs: 8, learningRate: 0.005 },
  { seed: 13, fraction: 0.5, epochs: 15, learningRate: 0.002 },
  { seed: 14, fraction: 0.6, epochs: 6, learningRate: 0.01 },
  { seed: 15, fraction: 0.8, epochs: 10, learningRate: 0.004 },
  // The two harmful ones, fixed before they were trained: 5x the highest good learning rate; classes 0, 1, 2 only.
  { seed: 16, fraction: 0.7, epochs: 8, learningRate: 0.05 },
  { seed: 17, fraction: 1, epochs: 10, learningRate: 0.005, classes: [0, 1, 2] },
];
const HARM = ["", "", "", "", "", "too-high learning rate", "classes 0-2 only"];

/**
 * Splits the original CSV into the ingredients' part and the soup's part (stratified by class, seeded), writing
 * each part's lines verbatim in their original order.
 */
async function splitOriginal(): Promise<{ ingredientsRows: number; soupRows: number }> {
  const original = await loadDataset(join(SAMPLE, ORIGINAL));
  const lines = gunzipSync(await readFile(join(SAMPLE, ORIGINAL)))
    .toString("utf8")
    .split("\n")
    .filter((l) => l !== "");
  if (lines.length !== original.xShape[0])
    throw new Error(`${ORIGINAL}: ${lines.length} lines but ${original.xShape[0]} rows`);
  const parts = splitDataset(original, {
    seed: DATA_SPLIT.seed,
    fractions: { learn: 1 - DATA_SPLIT.soupFraction, validation: 0, test: DATA_SPLIT.soupFraction },
  });
  const write = (name: string, rows: Int32Array) =>
    writeFilesAtomically([
      {
        path: join(SAMPLE, name),
        write: (p) => writeFile(p, gzipSync(Array.from(rows, (r) => `${lines[r]}\n`).join(""), { level: 9 })),
      },
    ]);
  await write(INGREDIENTS_TRAIN, parts.indices.learn);
  await write(SOUP, parts.indices.test);
  return { ingredientsRows: parts.sizes.learn, soupRows: parts.sizes.test };
}

async function main(): Promise<void> {
  await tf.setBackend("cpu");
  const { ingredientsRows, soupRows } = await splitOriginal();
  console.log(
    `${ORIGINAL} split (seed ${DATA_SPLIT.seed}, stratified): ${INGREDIENTS_TRAIN} ${ingredientsRows} rows, ${SOUP} ${soupRows} rows`,
  );
  const ingredientsTrain = await loadDataset(join(SAMPLE, INGREDIENTS_TRAIN));
  const split = splitDataset(await loadDataset(join(SAMPLE, SOUP)), DEFAULT_SPLIT);
  console.log(
    `${SOUP} split seed ${split.seed}: learn ${split.sizes.learn}, validation ${split.sizes.validation}, test ${split.sizes.test}`,
  );

  const family = await makeFamily(ingredientsTrain, HIDDEN, PRETRAIN, FINE_TUNES);
  const base = family.base;
  const baseAccuracy = accuracy((x) => base.predict(x.mul(PIXEL_SCALE)) as tf.Tensor, split.test);
  console.log(`pre-trained on ${family.pretrainRows} rows: soup test accuracy ${baseAccuracy.toFixed(4)}`);

  const ingredients = family.models;
  const report = [];
  for (const [i, ft] of FINE_TUNES.entries()) {
    const model = ingredients[i]!;
    const folder = join(SAMPLE, "models", `ingredient-${i + 1}`);
    const bytes = await save(model, folder);
    const test = accuracy((x) => model.predict(x) as tf.Tensor, split.test);
    const validation = accuracy((x) => model.predict(x) as tf.Tensor, split.validation);
    report.push({
      ingredient: i + 1,
      rows: family.rows[i],
      ...ft,
      ...(HARM[i] ? { harm: HARM[i] } : {}),
      weightBytes: bytes,
      validationAccuracy: validation,
      testAccuracy: test,
    });
    console.log(
      `ingredient-${i + 1}: ${family.rows[i]} rows, ${ft.epochs} epochs, lr ${ft.learningRate}: validation ${validation.toFixed(4)}, test ${test.toFixed(4)}`,
    );
  }

  // References for the README: the uniform soup (plain weight average) and the output ensemble.
  const soup = uniformSoup(ingredients, HIDDEN);
  const uniformTest = accuracy((x) => soup.predict(x) as tf.Tensor, split.test);
  const ensembleTest = accuracy(
    (x) => tf.addN(ingredients.map((m) => m.predict(x) as tf.Tensor)).div(ingredients.length),
    split.test,
  );
  const good = uniformSoup(ingredients.slice(0, 5), HIDDEN);
  const goodTest = accuracy((x) => good.predict(x) as tf.Tensor, split.test);
  console.log(
    `uniform soup: test ${uniformTest.toFixed(4)}; of the five good ones: ${goodTest.toFixed(4)}; output ensemble: test ${ensembleTest.toFixed(4)}`,
  );

  const summary = {
    data: {
      original: ORIGINAL,
      split: {
        function: "splitDataset (src/core/data/split.ts), learn part -> ingredients, test part -> soup",
        seed: DATA_SPLIT.seed,
        stratified: true,
      },
      ingredientsTrain: { file: INGREDIENTS_TRAIN, rows: ingredientsRows },
      soup: { file: SOUP, rows: soupRows },
    },
    soupSplit: {
      function: "splitDataset (src/core/data/split.ts)",
      seed: split.seed,
      fractions: split.fractions,
      stratified: split.stratified,
      sizes: split.sizes,
    },
    preprocessing: "none at use time: trained on pixel/16, with the 1/16 folded into hidden1's kernel",
    architecture: `Dense ${[...HIDDEN, 10].join("-")} (relu, relu, softmax) on 64 inputs`,
    backend: tf.getBackend(),
    pretrain: { ...PRETRAIN, rows: family.pretrainRows, testAccuracy: baseAccuracy },
    ingredients: report,
    uniformSoupTestAccuracy: uniformTest,
    goodFiveUniformSoupTestAccuracy: goodTest,
    ensembleTestAccuracy: ensembleTest,
  };
  await writeFile(join(SAMPLE, "models", "training.json"), JSON.stringify(summary, null, 1) + "\n");
}

await main();
