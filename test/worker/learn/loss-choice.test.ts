import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { UsageError } from "../../../src/core/errors.js";
import { chooseLoss, labelTaskFor, recordedLossChoice } from "../../../src/worker/learn/loss-choice.js";

function model(units: number, activation: string): tf.Sequential {
  const m = tf.sequential();
  m.add(
    tf.layers.dense({
      inputShape: [3],
      units,
      activation: activation as "linear",
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    }),
  );
  return m;
}

const FALLBACK =
  /^The model's training loss "focal_loss_fixed" is not one Model Soup knows; using (.+) \(choose with --loss\)$/;

describe("worker/learn/loss-choice: the training loss is only a default", () => {
  before(() => tf.setBackend("cpu"));
  const softmax = model(2, "softmax");
  const sigmoid = model(1, "sigmoid");
  const linear = model(1, "linear");
  const logits = model(3, "linear");
  after(() => [softmax, sigmoid, linear, logits].forEach((m) => m.dispose()));

  it("auto keeps a known training loss, silently", () => {
    assert.deepEqual(chooseLoss(softmax, "auto", { loss: "categorical_crossentropy" }), {
      loss: { name: "categorical_crossentropy", fromLogits: false },
    });
    assert.deepEqual(chooseLoss(linear, undefined, { loss: "mae" }), {
      loss: { name: "mean_absolute_error", fromLogits: false },
    });
    assert.deepEqual(chooseLoss(softmax, "auto", undefined), {
      loss: { name: "sparse_categorical_crossentropy", fromLogits: false },
    });
  });

  it("auto falls back from a custom loss to what the output fits, with one line saying so", () => {
    const custom = { loss: "focal_loss_fixed" };
    const keras3 = {
      loss: { module: "builtins", class_name: "function", config: "focal_loss_fixed", registered_name: "function" },
    };
    for (const config of [custom, keras3]) {
      const soft = chooseLoss(softmax, "auto", config);
      assert.deepEqual(soft.loss, { name: "sparse_categorical_crossentropy", fromLogits: false });
      assert.equal(FALLBACK.exec(soft.note ?? "")?.[1], "cross-entropy on the labels");
      const sig = chooseLoss(sigmoid, "auto", config);
      assert.deepEqual(sig.loss, { name: "binary_crossentropy", fromLogits: false });
      assert.equal(FALLBACK.exec(sig.note ?? "")?.[1], "cross-entropy on the labels");
      const reg = chooseLoss(linear, "auto", config);
      assert.deepEqual(reg.loss, { name: "mean_squared_error", fromLogits: false });
      assert.equal(FALLBACK.exec(reg.note ?? "")?.[1], "mean squared error");
    }
    // Several linear units with class indices are logits.
    const y = tf.tensor1d([0, 2, 1], "int32");
    assert.deepEqual(chooseLoss(logits, "auto", custom, y).loss, {
      name: "sparse_categorical_crossentropy",
      fromLogits: true,
    });
    y.dispose();
  });

  it("an explicit --loss overrides the training loss; one that does not fit the output is a one-line UsageError", () => {
    assert.deepEqual(chooseLoss(softmax, "mse", { loss: "categorical_crossentropy" }).loss, {
      name: "mean_squared_error",
      fromLogits: false,
    });
    assert.deepEqual(chooseLoss(linear, "mae", { loss: "mse" }).loss, {
      name: "mean_absolute_error",
      fromLogits: false,
    });
    assert.deepEqual(chooseLoss(sigmoid, "crossentropy", { loss: "mse" }).loss, {
      name: "binary_crossentropy",
      fromLogits: false,
    });
    // A cross-entropy training loss that fits is kept as it is (its from_logits too).
    const fromLogits = { loss: { class_name: "SparseCategoricalCrossentropy", config: { from_logits: true } } };
    assert.deepEqual(chooseLoss(linear, "crossentropy", fromLogits).loss, {
      name: "sparse_categorical_crossentropy",
      fromLogits: true,
    });
    assert.equal(chooseLoss(softmax, "crossentropy", { loss: "mse" }).note, undefined);
    assert.throws(
      () => chooseLoss(linear, "crossentropy", { loss: "mse" }),
      (e: unknown) =>
        e instanceof UsageError &&
        !e.message.includes("\n") &&
        /--loss crossentropy needs a softmax or sigmoid output .*one linear unit \(a regression output\): choose --loss mse or mae/.test(
          e.message,
        ),
    );
    assert.throws(() => chooseLoss(model(2, "tanh"), "crossentropy"), /"tanh" units/);
  });

  it("tells the loaders how to read the labels before any is read", () => {
    assert.equal(labelTaskFor(softmax, "auto", { loss: "focal_loss_fixed" }), "classification");
    assert.equal(labelTaskFor(softmax, "auto", { loss: "categorical_crossentropy" }), "classification");
    assert.equal(labelTaskFor(sigmoid, "auto", undefined), "classification");
    assert.equal(labelTaskFor(linear, "auto", { loss: "focal_loss_fixed" }), "regression");
    assert.equal(labelTaskFor(linear, "mse", undefined), "regression");
    // The labels decide: logits or values; a squared error on probabilities (class labels or targets in 0..1).
    assert.equal(labelTaskFor(logits, "auto", undefined), undefined);
    assert.equal(labelTaskFor(softmax, "mse", undefined), undefined);
    assert.equal(labelTaskFor(logits, "crossentropy", undefined), "classification");
  });

  it("a recipe's recorded loss gives the same choice again", () => {
    assert.equal(recordedLossChoice("categorical_crossentropy"), "crossentropy");
    assert.equal(recordedLossChoice("mean_absolute_error"), "mae");
    assert.equal(recordedLossChoice(undefined), undefined);
  });
});
