import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { UsageError } from "../../../src/core/errors.js";
import {
  lossFromTrainingConfig,
  lossTargets,
  resolveTask,
  sampleLosses,
  sampleMetric,
  trainingLoss,
} from "../../../src/worker/learn/loss.js";
import { mlp } from "./toy.js";

describe("worker/learn/loss", () => {
  before(() => tf.setBackend("cpu"));

  it("reads the loss of Keras 2 and Keras 3 training_config variants", () => {
    assert.deepEqual(lossFromTrainingConfig({ loss: "categorical_crossentropy" }), {
      name: "categorical_crossentropy",
      fromLogits: false,
    });
    assert.deepEqual(lossFromTrainingConfig({ loss: "mse" }), { name: "mean_squared_error", fromLogits: false });
    assert.deepEqual(
      lossFromTrainingConfig({
        loss: { class_name: "SparseCategoricalCrossentropy", config: { from_logits: true, reduction: "auto" } },
      }),
      { name: "sparse_categorical_crossentropy", fromLogits: true },
    );
    assert.deepEqual(
      lossFromTrainingConfig({
        loss: { module: "keras.losses", class_name: "BinaryCrossentropy", config: { from_logits: false } },
      }),
      { name: "binary_crossentropy", fromLogits: false },
    );
    assert.deepEqual(lossFromTrainingConfig({ loss: { dense_2: "mae" } }), {
      name: "mean_absolute_error",
      fromLogits: false,
    });
    assert.equal(lossFromTrainingConfig({ optimizer_config: {} }), undefined);
    assert.equal(lossFromTrainingConfig(undefined), undefined);
    // A loss Model Soup does not know is no refusal: the training loss is only a default (loss-choice.ts).
    assert.equal(lossFromTrainingConfig({ loss: "hinge" }), undefined);
    assert.deepEqual(trainingLoss({ loss: "focal_loss_fixed" }), { raw: "focal_loss_fixed" });
    assert.deepEqual(
      trainingLoss({
        loss: { module: "builtins", class_name: "function", config: "focal_loss_fixed", registered_name: "function" },
      }),
      { raw: "focal_loss_fixed" },
    );
    assert.throws(() => lossFromTrainingConfig({ loss: ["mse", "mae"] }), UsageError);
  });

  it("cross-entropy from logits equals cross-entropy of the softmax probabilities", () => {
    const logits = tf.tensor2d([
      [2, -1, 0.5],
      [0.1, 0.2, 3],
    ]);
    const y = tf.tensor1d([0, 2]);
    const fromLogits = sampleLosses(
      { name: "sparse_categorical_crossentropy", fromLogits: true },
      logits,
      y,
    ).arraySync();
    const fromProbs = sampleLosses(
      { name: "sparse_categorical_crossentropy", fromLogits: false },
      tf.softmax(logits),
      y,
    ).arraySync();
    const expected = [0, 1].map((r) => {
      const row = logits.arraySync()[r]!;
      const lse = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
      return lse - row[[0, 2][r]!]!;
    });
    fromLogits.forEach((v, r) => assert.ok(Math.abs(v - expected[r]!) < 1e-5));
    fromProbs.forEach((v, r) => assert.ok(Math.abs(v - expected[r]!) < 1e-5));
    const bceLogits = sampleLosses(
      { name: "binary_crossentropy", fromLogits: true },
      tf.tensor2d([[1.5], [-2]]),
      tf.tensor1d([1, 1]),
    ).arraySync();
    const bceProbs = sampleLosses(
      { name: "binary_crossentropy", fromLogits: false },
      tf.sigmoid(tf.tensor2d([[1.5], [-2]])),
      tf.tensor1d([1, 1]),
    ).arraySync();
    bceLogits.forEach((v, r) =>
      assert.ok(Math.abs(v - bceProbs[r]!) < 1e-5 && Math.abs(v - Math.log1p(Math.exp(-[1.5, -2][r]!))) < 1e-5),
    );
  });

  it("chooses the loss from the output activation and labels, and refuses probabilities-loss on logits", () => {
    const softmax = mlp({ seed: 1 });
    const linear = mlp({ seed: 1, output: "linear" });
    assert.equal(resolveTask(softmax, { y: tf.tensor1d([0, 1]) }).loss.name, "sparse_categorical_crossentropy");
    assert.deepEqual(resolveTask(linear, { y: tf.tensor1d([0, 1]) }).loss, {
      name: "sparse_categorical_crossentropy",
      fromLogits: true,
    });
    assert.equal(resolveTask(linear, { y: tf.tensor2d([[0, 1, 0]]) }).loss.name, "categorical_crossentropy");
    assert.equal(resolveTask(linear, { y: tf.tensor2d([[0.3, 1.2, -4]]) }).metric, "mae");
    assert.throws(() => resolveTask(linear, { trainingConfig: { loss: "categorical_crossentropy" } }), /from_logits/);
    assert.equal(
      resolveTask(softmax, { trainingConfig: { loss: "focal_loss_fixed" }, y: tf.tensor1d([0, 1], "int32") }).loss.name,
      "sparse_categorical_crossentropy",
    );
    softmax.dispose();
    linear.dispose();
  });

  it("accuracy and MAE per sample", () => {
    const task = {
      loss: { name: "sparse_categorical_crossentropy", fromLogits: false },
      metric: "accuracy",
      outputs: "probabilities",
      binary: false,
    } as const;
    assert.deepEqual(
      sampleMetric(
        task,
        tf.tensor2d([
          [0.7, 0.2, 0.1],
          [0.1, 0.2, 0.7],
        ]),
        tf.tensor1d([0, 1]),
      ).arraySync(),
      [1, 0],
    );
    const reg = {
      loss: { name: "mean_squared_error", fromLogits: false },
      metric: "mae",
      outputs: "values",
      binary: false,
    } as const;
    const mae = sampleMetric(
      reg,
      tf.tensor2d([
        [1, 2],
        [0, 0],
      ]),
      tf.tensor2d([
        [2, 2],
        [1, -3],
      ]),
    ).arraySync();
    assert.deepEqual(mae, [0.5, 2]);
  });

  it("fits every label form to the loss in one place: class indices, one-hot rows, 0/1 for one unit", () => {
    const probs = tf.tensor2d([
      [0.8, 0.2],
      [0.3, 0.7],
      [0.6, 0.4],
    ]);
    const indices = tf.tensor1d([0, 1, 1], "int32");
    const oneHot = tf.tensor2d([
      [1, 0],
      [0, 1],
      [0, 1],
    ]);
    assert.deepEqual(lossTargets(probs, indices).arraySync(), oneHot.arraySync());
    const expected = [-Math.log(0.8), -Math.log(0.7), -Math.log(0.4)];
    // categorical_crossentropy with class-index labels: the form real Keras classifiers and CSVs meet in
    // (it crashed with "Operands could not be broadcast together with shapes 848 and 848,2").
    for (const name of ["categorical_crossentropy", "sparse_categorical_crossentropy"] as const) {
      for (const y of [indices, oneHot]) {
        const losses = sampleLosses({ name, fromLogits: false }, probs, y).arraySync();
        losses.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-5, `${name} ${y.rank}: ${v}`));
      }
    }
    const task = resolveTask(mlp({ seed: 1 }), { trainingConfig: { loss: "categorical_crossentropy" }, y: indices });
    assert.deepEqual(sampleMetric(task, probs, indices).arraySync(), [1, 1, 0]);
    assert.deepEqual(sampleMetric(task, probs, oneHot).arraySync(), [1, 1, 0]);
    // A squared error on probabilities with class indices compares against the one-hot rows.
    const mse = sampleLosses({ name: "mean_squared_error", fromLogits: false }, probs, indices).arraySync();
    mse.forEach((v, i) => assert.ok(Math.abs(v - [0.04, 0.09, 0.36][i]!) < 1e-6, `mse ${v}`));
    // One sigmoid unit with 0/1 labels: binary cross-entropy per row.
    const p = tf.tensor2d([[0.9], [0.2]]);
    const bce = sampleLosses({ name: "binary_crossentropy", fromLogits: false }, p, tf.tensor1d([1, 0], "int32"));
    bce.arraySync().forEach((v, i) => assert.ok(Math.abs(v - -Math.log([0.9, 0.8][i]!)) < 1e-5));
    tf.dispose([probs, indices, oneHot, p, bce]);
  });
});
