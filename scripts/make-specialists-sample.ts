/**
 * Makes the demo's main sample, samples/specialists: five digit classifiers fine-tuned from ONE pre-trained base,
 * each on the rows of four of the ten classes only ({0,1,2,3}, {2,3,4,5}, {4,5,6,7}, {6,7,8,9}, {8,9,0,1}: every
 * digit in two subsets). Each specialist is poor at the digits it never saw; one generalist is wanted. This is the
 * multi-task family of bench/data-aware/make-families.ts, with the settings written there before any result was
 * seen, made here with the demo's conventions (the 1/16 pixel scale folded into the first layer, so the files take
 * the raw CSV).
 *
 *   node --import tsx scripts/make-specialists-sample.ts
 *
 * Data: trained on samples/digits/ingredients-train.csv.gz only; the demo learns the soup on
 * samples/digits/soup.csv.gz, which no model saw (see samples/digits/README.md). Deterministic: see
 * digits-family.ts.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { loadDataset } from "../src/core/data/load.js";
import { DEFAULT_SPLIT, splitDataset } from "../src/core/data/split.js";
import { accuracy, makeFamily, PIXEL_SCALE, save, uniformSoup, type TrainSpec } from "./digits-family.js";

const DIGITS = fileURLToPath(new URL("../samples/digits/", import.meta.url));
const SAMPLE = fileURLToPath(new URL("../samples/specialists/", import.meta.url));
const HIDDEN = [64, 32];

/** The base of bench/data-aware (and of samples/digits): glorot seed 100, 3 epochs on a seeded 40 % of the rows. */
const PRETRAIN: TrainSpec = { seed: 1, fraction: 0.4, epochs: 3, learningRate: 0.01 };
const SUBSETS = [
  [0, 1, 2, 3],
  [2, 3, 4, 5],
  [4, 5, 6, 7],
  [6, 7, 8, 9],
  [8, 9, 0, 1],
];
const FINE_TUNES: TrainSpec[] = SUBSETS.map((classes, i) => ({
  seed: 31 + i,
  fraction: 1,
  epochs: 10,
  learningRate: 0.005,
  classes,
}));

async function main(): Promise<void> {
  await tf.setBackend("cpu");
  const train = await loadDataset(join(DIGITS, "ingredients-train.csv.gz"));
  const split = splitDataset(await loadDataset(join(DIGITS, "soup.csv.gz")), DEFAULT_SPLIT);
  const family = await makeFamily(train, HIDDEN, PRETRAIN, FINE_TUNES);
  const base = family.base;
  const baseTest = accuracy((x) => base.predict(x.mul(PIXEL_SCALE)) as tf.Tensor, split.test);
  console.log(`base (pre-trained on ${family.pretrainRows} rows): test ${baseTest.toFixed(4)}`);
  const report = [];
  await mkdir(join(SAMPLE, "models"), { recursive: true });
  for (const [i, ft] of FINE_TUNES.entries()) {
    const model = family.models[i]!;
    const name = `classes-${ft.classes!.join("")}`;
    const bytes = await save(model, join(SAMPLE, "models", name));
    const validation = accuracy((x) => model.predict(x) as tf.Tensor, split.validation);
    const test = accuracy((x) => model.predict(x) as tf.Tensor, split.test);
    console.log(`${name}: ${family.rows[i]} rows: validation ${validation.toFixed(4)}, test ${test.toFixed(4)}`);
    report.push({
      name,
      rows: family.rows[i],
      ...ft,
      weightBytes: bytes,
      validationAccuracy: validation,
      testAccuracy: test,
    });
  }
  const soup = uniformSoup(family.models, HIDDEN);
  const uniformTest = accuracy((x) => soup.predict(x) as tf.Tensor, split.test);
  const ensembleTest = accuracy(
    (x) => tf.addN(family.models.map((m) => m.predict(x) as tf.Tensor)).div(family.models.length),
    split.test,
  );
  console.log(`uniform soup: test ${uniformTest.toFixed(4)}; output ensemble: test ${ensembleTest.toFixed(4)}`);
  const summary = {
    data: { train: "samples/digits/ingredients-train.csv.gz", soup: "samples/digits/soup.csv.gz" },
    soupSplit: { seed: split.seed, fractions: split.fractions, sizes: split.sizes },
    preprocessing: "none at use time: trained on pixel/16, with the 1/16 folded into hidden1's kernel",
    architecture: `Dense ${[...HIDDEN, 10].join("-")} (relu, relu, softmax) on 64 inputs`,
    backend: tf.getBackend(),
    pretrain: { ...PRETRAIN, initSeed: PRETRAIN.seed * 100, rows: family.pretrainRows, testAccuracy: baseTest },
    specialists: report,
    uniformSoupTestAccuracy: uniformTest,
    ensembleTestAccuracy: ensembleTest,
  };
  await writeFile(join(SAMPLE, "models", "training.json"), `${JSON.stringify(summary, null, 1)}\n`);
}

await main();
