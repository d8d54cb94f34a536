import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  balancedAccuracy,
  classCounts,
  meanAbsoluteError,
  rocAuc,
  rSquared,
} from "../../../src/worker/evaluate/metrics.js";
import { labelClassCounts, metricPair, scorePredictions } from "../../../src/worker/evaluate/score.js";
import type { Task } from "../../../src/worker/learn/loss.js";

const close = (a: number | undefined, b: number, what = "") =>
  assert.ok(a !== undefined && Math.abs(a - b) < 1e-6, `${what} ${a} vs ${b}`);

describe("worker/evaluate/metrics: against hand-worked values", () => {
  it("balanced accuracy is the mean recall of the classes present", () => {
    // Recall: class 0 3/4, class 1 1/2, class 2 1/1 → 0.75 (accuracy would be 5/7).
    close(balancedAccuracy([0, 0, 0, 0, 1, 1, 2], [0, 0, 0, 1, 1, 0, 2]), 0.75);
    // "Always class 0" on 85/15: accuracy 85 %, balanced accuracy 50 %.
    const truth = [...new Array<number>(85).fill(0), ...new Array<number>(15).fill(1)];
    close(balancedAccuracy(truth, new Array<number>(100).fill(0)), 0.5);
    // A class only predicted, never true, counts for nothing.
    close(balancedAccuracy([0, 0], [0, 3]), 0.5);
  });

  it("ROC AUC counts ties one half", () => {
    // Positives 0.9, 0.5, 0.3 against negatives 0.5, 0.1, 0.3: 3 + 2.5 + 1.5 of 9 pairs.
    close(rocAuc([true, true, false, false, true, false], [0.9, 0.5, 0.5, 0.1, 0.3, 0.3]), 7 / 9);
    close(rocAuc([true, false, true, false], [0.2, 0.2, 0.2, 0.2]), 0.5);
    close(rocAuc([false, false, true], [0.1, 0.2, 0.3]), 1);
    close(rocAuc([false, false, true], [0.3, 0.2, 0.1]), 0);
    assert.ok(Number.isNaN(rocAuc([true, true], [0.1, 0.2])));
  });

  it("R² is 1 − residual / total sum of squares, averaged over outputs with a spread", () => {
    // Mean 2.5: total 5, residual 1.
    close(rSquared([1, 2, 3, 4], [1, 2, 3, 5]), 0.8);
    // Two outputs: 1 − 1/2 and 1 − 0/200.
    close(rSquared([1, 10, 2, 20, 3, 30], [1, 10, 2, 20, 4, 30], 2), 0.75);
    // A constant output has no R²: only the first counts (1 − 1/0.5).
    close(rSquared([1, 5, 2, 5], [1, 5, 3, 6], 2), -1);
    assert.ok(Number.isNaN(rSquared([2, 2], [1, 3])));
  });

  it("MAE and the class counts", () => {
    close(meanAbsoluteError([1, 2, 3], [2, 2, 1]), 1);
    assert.deepEqual(classCounts([0, 2, 2, 0, 0]), [3, 0, 2]);
    assert.deepEqual(classCounts([0, 0], 2), [2, 0]);
  });
});

describe("worker/evaluate/score: the metrics that fit the task, from the model's outputs", () => {
  before(async () => tf.setBackend("cpu"));

  const sparse: Task = {
    loss: { name: "sparse_categorical_crossentropy", fromLogits: false },
    metric: "accuracy",
    outputs: "probabilities",
    binary: false,
  };
  const labels = [1, 1, 0, 0, 1, 0];
  const positive = [0.9, 0.5, 0.5, 0.1, 0.3, 0.3]; // p(class 1): the AUC case above, 7/9

  it("a 2-way softmax: balanced accuracy and the AUC of class 1, whatever form the labels take", () => {
    const pred = tf.tensor2d(positive.map((p) => [1 - p, p]));
    const y = tf.tensor1d(labels, "float32");
    const s = scorePredictions(sparse, pred, y);
    // argmax (ties to class 0 at 0.5): predicted [1, 0, 0, 0, 0, 0]: recall class 1 = 1/3, class 0 = 3/3.
    close(s.metric, 4 / 6, "accuracy");
    close(s.balancedAccuracy, (1 / 3 + 1) / 2, "balanced accuracy");
    close(s.auc, 7 / 9, "auc");
    assert.equal(s.r2, undefined);
    const oneHot = tf.tensor2d(labels.map((c) => [1 - c, c]));
    const categorical = scorePredictions(
      { ...sparse, loss: { name: "categorical_crossentropy", fromLogits: false } },
      pred,
      oneHot,
    );
    close(categorical.auc, 7 / 9);
    close(categorical.balancedAccuracy, 2 / 3);
    const logits = tf.tensor2d(positive.map((p) => [0, Math.log(p / (1 - p))]));
    close(
      scorePredictions({ ...sparse, outputs: "logits", loss: { ...sparse.loss, fromLogits: true } }, logits, y).auc,
      7 / 9,
    );
    assert.deepEqual(labelClassCounts(sparse, pred, y), [3, 3]);
    tf.dispose([pred, y, oneHot, logits]);
  });

  it("one sigmoid unit, probabilities or logits: the same AUC; its threshold decides the classes", () => {
    const binary: Task = {
      loss: { name: "binary_crossentropy", fromLogits: false },
      metric: "accuracy",
      outputs: "probabilities",
      binary: true,
    };
    const pred = tf.tensor2d(positive.map((p) => [p]));
    const y = tf.tensor2d(labels.map((c) => [c]));
    const s = scorePredictions(binary, pred, y);
    // p > 0.5: predicted [1, 0, 0, 0, 0, 0], as above.
    close(s.balancedAccuracy, 2 / 3);
    close(s.auc, 7 / 9);
    const logits = tf.tensor2d(positive.map((p) => [Math.log(p / (1 - p))]));
    const l = scorePredictions({ ...binary, outputs: "logits", loss: { ...binary.loss, fromLogits: true } }, logits, y);
    close(l.auc, 7 / 9);
    assert.deepEqual(labelClassCounts(binary, pred, y), [3, 3]);
    tf.dispose([pred, y, logits]);
  });

  it("three classes: balanced accuracy, no AUC", () => {
    const pred = tf.oneHot(tf.tensor1d([0, 0, 0, 1, 1, 0, 2], "int32"), 3).toFloat();
    const y = tf.tensor1d([0, 0, 0, 0, 1, 1, 2], "float32");
    const s = scorePredictions(sparse, pred, y);
    close(s.balancedAccuracy, 0.75);
    assert.equal(s.auc, undefined);
    assert.deepEqual(labelClassCounts(sparse, pred, y), [4, 2, 1]);
    tf.dispose([pred, y]);
  });

  it("regression: R² beside the MAE, no class metrics; metricPair carries what exists", () => {
    const task: Task = {
      loss: { name: "mean_squared_error", fromLogits: false },
      metric: "mae",
      outputs: "values",
      binary: false,
    };
    const pred = tf.tensor2d([[1], [2], [3], [5]]);
    const y = tf.tensor1d([1, 2, 3, 4]);
    const s = scorePredictions(task, pred, y);
    close(s.loss, 0.25, "mse");
    close(s.metric, 0.25, "mae");
    close(s.r2, 0.8, "r2");
    assert.equal(labelClassCounts(task, pred, y), undefined);
    assert.deepEqual(Object.keys(metricPair(s)).sort(), ["loss", "metric", "r2"]);
    tf.dispose([pred, y]);
  });
});
