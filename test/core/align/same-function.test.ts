/**
 * Permuting a model's units along its symmetry groups must leave the function it computes unchanged: every
 * architecture here is run before and after random permutations of every group, and the outputs compared.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { readManifest } from "../../../src/core/formats/registry.js";
import type { ModelManifest } from "../../../src/core/model.js";
import { mulberry32, shuffleInPlace } from "../../../src/core/random.js";
import {
  identity,
  permutationSymmetry,
  permuteTensors,
  type AlignmentPlan,
  type Permutations,
} from "../../../src/core/align/index.js";
import { bindWeights, buildModel } from "../../../src/worker/runtime/index.js";
import { TFJS_FIXTURES, saveWithTfjs, scratchDir } from "../formats/tfjs-helpers.js";

/** Random values for every weight (positive variances), so no unit is interchangeable with another by chance. */
function randomise(model: tf.LayersModel, seed: number): void {
  model.weights.forEach((w, i) => {
    const value = tf.tidy(() => {
      const r = tf.randomNormal(w.shape as number[], 0, 0.5, "float32", seed + i);
      return /variance/.test(w.name) ? r.abs().add(0.5) : r;
    });
    w.write(value);
    value.dispose();
  });
}

function randomPermutations(plan: AlignmentPlan, seed: number): Permutations {
  const random = mulberry32(seed);
  return Object.fromEntries(
    plan.groups.map((g) => {
      const perm = identity(g.size);
      shuffleInPlace(perm, random);
      return [g.id, perm];
    }),
  );
}

async function tensorsOf(manifest: ModelManifest, model: tf.LayersModel) {
  const bindings = bindWeights(manifest, model);
  return new Map(
    bindings.map((b) => [
      b.tensor,
      { shape: b.variable.shape as number[], data: b.variable.read().dataSync() as Float32Array },
    ]),
  );
}

function predict(model: tf.LayersModel, x: tf.Tensor): Float32Array {
  const out = model.predict(x) as tf.Tensor;
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

/**
 * Runs the model of `path` (with its own weights, or random ones), permutes every group at random, and checks
 * the outputs match; returns the plan for the caller's checks of which groups were found.
 */
async function checkSameFunction(
  path: string,
  x: tf.Tensor,
  options: { randomise?: boolean } = {},
): Promise<AlignmentPlan> {
  const manifest = await readManifest(path);
  const plan = permutationSymmetry(manifest);
  const original = await buildModel(manifest);
  const permuted = await buildModel(manifest);
  try {
    if (options.randomise !== false) randomise(original, 7);
    else {
      const { openModel } = await import("../../../src/core/formats/registry.js");
      const { loadWeights } = await import("../../../src/worker/runtime/index.js");
      const file = await openModel(path);
      await loadWeights(original, bindWeights(manifest, original), file);
      await file.close();
    }
    const tensors = await tensorsOf(manifest, original);
    const perms = randomPermutations(plan, 3);
    const moved = permuteTensors(plan, perms, tensors);
    for (const b of bindWeights(manifest, permuted)) {
      const value = tf.tensor(moved.get(b.tensor)!, b.variable.shape as number[], b.variable.dtype);
      b.variable.write(value);
      value.dispose();
    }
    // The permutation really moved weights (else the comparison below proves nothing).
    const changed = [...tensors].some(([name, t]) => t.data.some((v, i) => v !== moved.get(name)![i]));
    assert.ok(changed || plan.groups.length === 0, "the permutations changed no weight");
    const a = predict(original, x);
    const b = predict(permuted, x);
    assert.equal(a.length, b.length);
    for (let i = 0; i < a.length; i++)
      assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-4 * (1 + Math.abs(a[i]!)), `output ${i}: ${a[i]} vs ${b[i]}`);
    return plan;
  } finally {
    original.dispose();
    permuted.dispose();
  }
}

async function saved(model: tf.LayersModel, dir: string, name: string): Promise<string> {
  const { mkdir } = await import("node:fs/promises");
  const folder = `${dir}/${name}`;
  await mkdir(folder);
  return saveWithTfjs(model, folder);
}

function groupSizes(plan: AlignmentPlan): number[] {
  return plan.groups.map((g) => g.size).sort((p, q) => p - q);
}

describe("permutation symmetry: permuted models compute the same function", () => {
  let scratch: { dir: string; cleanup: () => Promise<void> };
  before(async () => {
    scratch = await scratchDir();
  });
  after(async () => scratch.cleanup());

  it("Dense MLP: each hidden layer is a group, the output layer is not", async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [6], units: 8, activation: "relu" }),
        tf.layers.dense({ units: 5, activation: "tanh" }),
        tf.layers.dense({ units: 3, activation: "softmax" }),
      ],
    });
    const x = tf.randomNormal([9, 6], 0, 1, "float32", 1);
    const plan = await checkSameFunction(await saved(model, scratch.dir, "mlp"), x);
    assert.deepEqual(groupSizes(plan), [5, 8]);
    assert.deepEqual(plan.fixed, []);
  });

  it("CNN with BatchNormalization, pooling and Flatten: the channel permutation repeats over positions", async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 2], filters: 4, kernelSize: 3, activation: "relu" }),
        tf.layers.batchNormalization(),
        tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: "same" }),
        tf.layers.batchNormalization(),
        tf.layers.activation({ activation: "relu" }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 7, activation: "relu" }),
        tf.layers.dense({ units: 3 }),
      ],
    });
    const x = tf.randomNormal([4, 8, 8, 2], 0, 1, "float32", 2);
    const plan = await checkSameFunction(await saved(model, scratch.dir, "cnn"), x);
    assert.deepEqual(groupSizes(plan), [4, 6, 7]);
    const flattenReader = plan.groups.find((g) => g.size === 6)!.members.find((m) => m.count > 1);
    assert.equal(flattenReader?.count, 9, "the Dense after Flatten reads each channel at 3×3 positions");
  });

  it("residual Add: every tensor added shares one group", async () => {
    const input = tf.input({ shape: [5] });
    const h = tf.layers.dense({ units: 6, activation: "relu" }).apply(input) as tf.SymbolicTensor;
    const r = tf.layers.dense({ units: 6, activation: "relu" }).apply(h) as tf.SymbolicTensor;
    const sum = tf.layers.add().apply([h, r]) as tf.SymbolicTensor;
    const normed = tf.layers.layerNormalization().apply(sum) as tf.SymbolicTensor;
    const r2 = tf.layers.dense({ units: 6 }).apply(normed) as tf.SymbolicTensor;
    const sum2 = tf.layers.add().apply([normed, r2]) as tf.SymbolicTensor;
    const wide = tf.layers.dense({ units: 4, activation: "relu" }).apply(sum2) as tf.SymbolicTensor;
    const cat = tf.layers.concatenate().apply([sum2, wide]) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2 }).apply(cat) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    const x = tf.randomNormal([7, 5], 0, 1, "float32", 3);
    const plan = await checkSameFunction(await saved(model, scratch.dir, "residual"), x);
    // h, r, r2 and the sums are one group of 6; `wide` is a group of 4.
    assert.deepEqual(groupSizes(plan), [4, 6]);
  });

  it("LSTM and GRU: gate blocks and the recurrent kernel move together", async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.lstm({ inputShape: [4, 3], units: 5, returnSequences: true }),
        tf.layers.gru({ units: 4 }),
        tf.layers.dense({ units: 2 }),
      ],
    });
    const x = tf.randomNormal([6, 4, 3], 0, 1, "float32", 4);
    const plan = await checkSameFunction(await saved(model, scratch.dir, "lstm"), x);
    assert.deepEqual(groupSizes(plan), [4, 5]);
  });

  it("Embedding, depthwise and separable convolutions", async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 1 }),
        tf.layers.depthwiseConv2d({ kernelSize: 3, padding: "same" }),
        tf.layers.separableConv2d({ filters: 5, kernelSize: 3 }),
        tf.layers.globalAveragePooling2d({}),
        tf.layers.dense({ units: 2 }),
      ],
    });
    const x = tf.randomNormal([3, 6, 6, 2], 0, 1, "float32", 5);
    const plan = await checkSameFunction(await saved(model, scratch.dir, "sepconv"), x);
    assert.deepEqual(groupSizes(plan), [3, 5]);

    const text = tf.sequential({
      layers: [
        tf.layers.embedding({ inputDim: 10, outputDim: 6, inputLength: 4 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3 }),
      ],
    });
    const tokens = tf.tensor2d(
      [
        [1, 2, 3, 4],
        [9, 0, 5, 5],
      ],
      [2, 4],
      "int32",
    );
    const textPlan = await checkSameFunction(await saved(text, scratch.dir, "embedding"), tokens);
    assert.deepEqual(groupSizes(textPlan), [6]);
  });

  it("depthwise and separable convolutions with a depth multiplier: each channel's block of outputs moves with it", async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 1 }),
        tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: "same" }),
        tf.layers.batchNormalization(),
        tf.layers.separableConv2d({ filters: 4, kernelSize: 3, depthMultiplier: 3 }),
        tf.layers.depthwiseConv2d({ kernelSize: 1, depthMultiplier: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2 }),
      ],
    });
    const x = tf.randomNormal([3, 6, 6, 2], 0, 1, "float32", 10);
    const path = await saved(model, scratch.dir, "multiplier");
    // TF.js's SeparableConv getConfig leaves depth_multiplier out (Keras writes it): put it back as Keras would.
    const { readFile, writeFile } = await import("node:fs/promises");
    const json = JSON.parse(await readFile(path, "utf8"));
    for (const layer of json.modelTopology.config.layers) {
      if (layer.class_name === "SeparableConv2D") layer.config.depth_multiplier = 3;
    }
    await writeFile(path, JSON.stringify(json));
    const plan = await checkSameFunction(path, x);
    assert.deepEqual(groupSizes(plan), [3, 4]);
    assert.deepEqual(plan.fixed, []);
    const widths = (size: number) =>
      plan.groups
        .find((g) => g.size === size)!
        .members.map((m) => m.width ?? 1)
        .sort((p, q) => p - q);
    // The conv's 3 channels: its kernel and bias, the depthwise kernel, then blocks of 2 (depthwise bias,
    // BatchNormalization's four vectors, the separable depthwise kernel) and of 6 (the pointwise kernel).
    assert.deepEqual(widths(3), [1, 1, 1, 2, 2, 2, 2, 2, 2, 6]);
    // The separable's 4 units: pointwise kernel and bias, the last depthwise kernel, its bias and the Dense after Flatten in blocks of 2.
    const flattened = plan.groups.find((g) => g.size === 4)!.members.find((m) => m.count > 1);
    assert.deepEqual(
      { count: flattened?.count, width: flattened?.width, period: flattened?.period },
      { count: 16, width: 2, period: 8 },
    );
  });

  it("real files: the TF.js CNN and Embedding+GRU fixtures, a Keras 3 CNN with BatchNormalization", async () => {
    const cnn = await checkSameFunction(TFJS_FIXTURES.cnn.path, tf.randomNormal([2, 40, 40, 3], 0, 1, "float32", 6), {
      randomise: false,
    });
    assert.equal(
      cnn.groups.length,
      2,
      "Conv2D and SeparableConv2D (through BatchNormalization and Flatten) are groups",
    );
    const gru = (await readManifest(TFJS_FIXTURES.gru.path)).architecture!;
    const embedding = gru.layers.find((l) => l.className === "Embedding")!;
    const length = (embedding.config.batch_input_shape as number[])[1]!;
    const tokens = tf.randomUniform([3, length], 0, Number(embedding.config.input_dim), "int32", 9);
    const gruPlan = await checkSameFunction(TFJS_FIXTURES.gru.path, tokens, { randomise: false });
    // The GRU is the model's output, so only the Embedding's 20 units (read by the GRU's kernel) move.
    assert.deepEqual(groupSizes(gruPlan), [20]);
    const keras3 = await checkSameFunction(
      "test/fixtures/keras3/cnn_a.keras",
      tf.randomNormal([3, 8, 8, 1], 0, 1, "float32", 7),
    );
    assert.deepEqual(groupSizes(keras3), [4]);
  });

  it("a layer whose symmetry is not handled fixes its neighbours and is named", async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [4], units: 6 }),
        tf.layers.reshape({ targetShape: [3, 2] }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 5 }),
        tf.layers.dense({ units: 2 }),
      ],
    });
    const x = tf.randomNormal([3, 4], 0, 1, "float32", 8);
    const plan = await checkSameFunction(await saved(model, scratch.dir, "reshape"), x);
    assert.deepEqual(groupSizes(plan), [5]);
    assert.equal(plan.fixed.length, 1);
    assert.equal(plan.fixed[0]!.className, "Reshape");
  });
});
