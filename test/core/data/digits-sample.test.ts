import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { loadDataset } from "../../../src/core/data/load.js";
import { DEFAULT_SPLIT, splitDataset } from "../../../src/core/data/split.js";
import { DIGITS, REPO } from "./helpers.js";

const MODELS = join(REPO, "samples/digits/models");
const training = JSON.parse(readFileSync(join(MODELS, "training.json"), "utf8"));

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

  it("has five TF.js ingredients of one architecture whose test-split accuracy is what the README reports", async () => {
    const digits = await loadDataset(DIGITS);
    const { test } = splitDataset(digits, DEFAULT_SPLIT);
    assert.equal(training.split.seed, DEFAULT_SPLIT.seed);
    assert.deepEqual(training.split.sizes, { learn: 1079, validation: 359, test: 359 });
    const flat: Float32Array[] = [];
    for (let i = 1; i <= 5; i++) {
      const model = await loadIngredient(i);
      assert.deepEqual(model.inputs[0]!.shape, [null, 64]);
      assert.deepEqual(model.outputs[0]!.shape, [null, 10]);
      assert.deepEqual(model.weights.map((w) => w.originalName), ["hidden1/kernel", "hidden1/bias", "hidden2/kernel", "hidden2/bias", "output/kernel", "output/bias"]);
      // Raw 0..16 pixels go straight in: the 1/16 scaling is folded into hidden1.
      const accuracy = tf.tidy(() => {
        const predicted = (model.predict(tf.tensor2d(test.x, [test.xShape[0]!, 64])) as tf.Tensor).argMax(-1).dataSync();
        let right = 0;
        predicted.forEach((p, k) => (right += p === test.y![k] ? 1 : 0));
        return right / predicted.length;
      });
      assert.equal(accuracy, training.ingredients[i - 1].testAccuracy, `ingredient-${i}`);
      assert.ok(accuracy > 0.9, `ingredient-${i} is a working classifier (${accuracy})`);
      flat.push(Float32Array.from(model.getWeights().flatMap((w) => Array.from(w.dataSync()))));
      model.dispose();
    }
    // Fine-tunes of one initialisation: distinct, yet close in weight space (one basin).
    const cosine = (a: Float32Array, b: Float32Array) => {
      let ab = 0, aa = 0, bb = 0;
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
