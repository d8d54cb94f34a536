/**
 * Makes test/fixtures/learn-family: a family of digit classifiers for the learner's tests, different from the
 * demo's (one hidden layer of 32, another pre-training seed, other subsets): four good fine-tunes of one
 * pre-trained model and two harmful ones (a too-high learning rate; classes 5-9 only). Trained on
 * samples/digits/ingredients-train.csv.gz only; the tests learn and evaluate on samples/digits/soup.csv.gz, which
 * no ingredient has seen. Settings fixed before any result was seen.
 *
 *   node --import tsx scripts/make-learn-family.ts
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { loadDataset } from "../src/core/data/load.js";
import { DEFAULT_SPLIT, splitDataset } from "../src/core/data/split.js";
import { accuracy, makeFamily, save, uniformSoup, type TrainSpec } from "./digits-family.js";

const OUT = fileURLToPath(new URL("../test/fixtures/learn-family/", import.meta.url));
const DIGITS = fileURLToPath(new URL("../samples/digits/", import.meta.url));
const HIDDEN = [32];
const PRETRAIN: TrainSpec = { seed: 2, fraction: 0.3, epochs: 3, learningRate: 0.01 };
const FINE_TUNES: TrainSpec[] = [
  { seed: 21, fraction: 0.6, epochs: 10, learningRate: 0.004 },
  { seed: 22, fraction: 0.8, epochs: 6, learningRate: 0.006 },
  { seed: 23, fraction: 0.5, epochs: 12, learningRate: 0.003 },
  { seed: 24, fraction: 0.7, epochs: 8, learningRate: 0.005 },
  { seed: 25, fraction: 0.7, epochs: 8, learningRate: 0.08 },
  { seed: 26, fraction: 1, epochs: 10, learningRate: 0.005, classes: [5, 6, 7, 8, 9] },
];
const NAMES = ["good-1", "good-2", "good-3", "good-4", "high-lr", "classes-5-9"];

async function main(): Promise<void> {
  await tf.setBackend("cpu");
  const trainRows = await loadDataset(join(DIGITS, "ingredients-train.csv.gz"));
  const split = splitDataset(await loadDataset(join(DIGITS, "soup.csv.gz")), DEFAULT_SPLIT);
  const family = await makeFamily(trainRows, HIDDEN, PRETRAIN, FINE_TUNES);
  const summary = [];
  for (const [i, model] of family.models.entries()) {
    await save(model, join(OUT, NAMES[i]!));
    const validation = accuracy((x) => model.predict(x) as tf.Tensor, split.validation);
    const test = accuracy((x) => model.predict(x) as tf.Tensor, split.test);
    summary.push({
      name: NAMES[i],
      ...FINE_TUNES[i],
      rows: family.rows[i],
      validationAccuracy: validation,
      testAccuracy: test,
    });
    console.log(`${NAMES[i]}: validation ${validation.toFixed(4)}, test ${test.toFixed(4)}`);
  }
  const soup = uniformSoup(family.models, HIDDEN);
  const uniformTest = accuracy((x) => soup.predict(x) as tf.Tensor, split.test);
  console.log(`uniform soup: test ${uniformTest.toFixed(4)}`);
  await writeFile(
    join(OUT, "training.json"),
    JSON.stringify(
      {
        script: "scripts/make-learn-family.ts",
        hidden: HIDDEN,
        pretrain: { ...PRETRAIN, rows: family.pretrainRows },
        ingredients: summary,
        uniformSoupTestAccuracy: uniformTest,
      },
      null,
      1,
    ) + "\n",
  );
}

await main();
