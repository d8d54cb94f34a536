import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { loadDataset } from "../../../src/core/data/load.js";
import { DEFAULT_SPLIT, splitDataset } from "../../../src/core/data/split.js";
import type { Dataset } from "../../../src/core/data/dataset.js";
import { REPO } from "./helpers.js";

const SAMPLE = join(REPO, "samples/digits");
const MODELS = join(SAMPLE, "models");
const ORIGINAL = join(SAMPLE, "digits.csv.gz");
const INGREDIENTS_TRAIN = join(SAMPLE, "ingredients-train.csv.gz");
const SOUP = join(SAMPLE, "soup.csv.gz");
const training = JSON.parse(readFileSync(join(MODELS, "training.json"), "utf8"));

/** Each row (64 pixels and the label) as one string, in file order. */
function rowsOf(d: Dataset): string[] {
  return Array.from(
    { length: d.xShape[0]! },
    (_, i) => `${Array.from(d.x.subarray(i * 64, (i + 1) * 64)).join(",")},${d.y![i]}`,
  );
}

async function loadIngredient(i: number): Promise<tf.LayersModel> {
  const folder = join(MODELS, `ingredient-${i}`);
  const json = JSON.parse(readFileSync(join(folder, "model.json"), "utf8"));
  const weights = readFileSync(join(folder, json.weightsManifest[0].paths[0]));
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length),
    }),
  );
}

describe("the bundled digits sample", () => {
  let previous: string;
  before(async () => {
    previous = tf.getBackend();
    await tf.setBackend("cpu");
  });
  after(async () => {
    if (previous) await tf.setBackend(previous);
  });

  it("splits the original rows into disjoint ingredients-train and soup files: a seeded stratified 50/50 split, rows verbatim in order", async () => {
    const original = await loadDataset(ORIGINAL);
    const ingredientsTrain = rowsOf(await loadDataset(INGREDIENTS_TRAIN));
    const soup = rowsOf(await loadDataset(SOUP));
    const all = rowsOf(original);
    assert.equal(new Set(all).size, 1797, "the original rows are distinct, so row content identifies a row");
    assert.equal(ingredientsTrain.length, training.data.ingredientsTrain.rows);
    assert.equal(soup.length, training.data.soup.rows);
    assert.deepEqual([ingredientsTrain.length, soup.length], [898, 899]);
    const soupSet = new Set(soup);
    assert.ok(
      ingredientsTrain.every((r) => !soupSet.has(r)),
      "no row is in both files",
    );
    assert.deepEqual(
      [...ingredientsTrain, ...soup].sort(),
      [...all].sort(),
      "together they are exactly the original rows",
    );

    // Exactly the split the README describes: splitDataset with seed 1, learn part -> ingredients, test part -> soup.
    const parts = splitDataset(original, {
      seed: training.data.split.seed,
      fractions: { learn: 0.5, validation: 0, test: 0.5 },
    });
    assert.equal(training.data.split.seed, 1);
    assert.deepEqual(
      ingredientsTrain,
      Array.from(parts.indices.learn, (i) => all[i]),
    );
    assert.deepEqual(
      soup,
      Array.from(parts.indices.test, (i) => all[i]),
    );
    const counts = (rows: string[]) =>
      rows.reduce((c, r) => (c[Number(r.slice(r.lastIndexOf(",") + 1))]++, c), new Array<number>(10).fill(0));
    counts(ingredientsTrain).forEach((n, c) =>
      assert.ok(Math.abs(n - counts(soup)[c]!) <= 1, `class ${c} is split evenly`),
    );
  });

  it("has seven TF.js ingredients of one architecture (five good, two harmful) whose accuracy on the demo's test split of soup.csv.gz is what the README reports", async () => {
    const { test } = splitDataset(await loadDataset(SOUP), DEFAULT_SPLIT);
    assert.equal(training.soupSplit.seed, DEFAULT_SPLIT.seed);
    assert.deepEqual(training.soupSplit.sizes, { learn: 539, validation: 180, test: 180 });
    const flat: Float32Array[] = [];
    assert.deepEqual(
      training.ingredients.map((g: { harm?: string }) => g.harm ?? ""),
      ["", "", "", "", "", "too-high learning rate", "classes 0-2 only"],
    );
    for (let i = 1; i <= 7; i++) {
      const model = await loadIngredient(i);
      assert.deepEqual(model.inputs[0]!.shape, [null, 64]);
      assert.deepEqual(model.outputs[0]!.shape, [null, 10]);
      assert.deepEqual(
        model.weights.map((w) => w.originalName),
        ["hidden1/kernel", "hidden1/bias", "hidden2/kernel", "hidden2/bias", "output/kernel", "output/bias"],
      );
      // Raw 0..16 pixels go straight in: the 1/16 scaling is folded into hidden1.
      const accuracy = tf.tidy(() => {
        const predicted = (model.predict(tf.tensor2d(test.x, [test.xShape[0]!, 64])) as tf.Tensor)
          .argMax(-1)
          .dataSync();
        let right = 0;
        predicted.forEach((p, k) => (right += p === test.y![k] ? 1 : 0));
        return right / predicted.length;
      });
      assert.equal(accuracy, training.ingredients[i - 1].testAccuracy, `ingredient-${i}`);
      if (i <= 6) assert.ok(accuracy > 0.9, `ingredient-${i} is a working classifier (${accuracy})`);
      else assert.ok(accuracy < 0.4, `ingredient-7, fine-tuned on 3 of 10 classes, misses most digits (${accuracy})`);
      flat.push(Float32Array.from(model.getWeights().flatMap((w) => Array.from(w.dataSync()))));
      model.dispose();
    }
    // Fine-tunes of one initialisation: distinct, yet close in weight space (one basin).
    const cosine = (a: Float32Array, b: Float32Array) => {
      let ab = 0,
        aa = 0,
        bb = 0;
      a.forEach((v, k) => ((ab += v * b[k]!), (aa += v * v), (bb += b[k]! * b[k]!)));
      return ab / Math.sqrt(aa * bb);
    };
    for (let i = 0; i < 5; i++)
      for (let j = i + 1; j < 5; j++) {
        const c = cosine(flat[i]!, flat[j]!);
        assert.ok(c > 0.9 && c < 0.99999, `ingredients ${i + 1} and ${j + 1}: cosine ${c}`);
      }
  });
});
