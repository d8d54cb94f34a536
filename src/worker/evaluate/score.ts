// Predictions of the model's current weights and their loss and task metrics.
import * as tf from "@tensorflow/tfjs";
import type { Cancellation } from "../../core/cancellation.js";
import type { MetricPair } from "../../protocol/worker.js";
import { ranges, sliceRows } from "../learn/batches.js";
import { sampleLosses, sampleMetric, type Task } from "../learn/loss.js";
import { forward } from "../learn/objective.js";
import { nextStep } from "../learn/yield.js";
import { balancedAccuracy, classCounts, rocAuc, rSquared } from "./metrics.js";

export interface Score {
  readonly loss: number;
  /** Accuracy (classification) or mean absolute error (regression). */
  readonly metric: number;
  /** Classification: mean per-class recall. */
  readonly balancedAccuracy?: number;
  /** Two classes (a 2-way softmax or one sigmoid unit): ROC AUC of the positive class (class 1). */
  readonly auc?: number;
  /** Regression: coefficient of determination, averaged over the outputs. */
  readonly r2?: number;
}

/** The model's outputs for all of x, batched, yielding to the event loop before each batch; the caller disposes the result. */
export async function predictAll(
  model: tf.LayersModel,
  x: tf.Tensor,
  batchSize: number,
  cancel?: Cancellation,
): Promise<tf.Tensor> {
  const parts: tf.Tensor[] = [];
  try {
    for (const [start, end] of ranges(x.shape[0]!, batchSize)) {
      await nextStep(cancel);
      parts.push(tf.tidy(() => forward(model, sliceRows(x, start, end))));
    }
    return parts.length === 1 ? parts[0]!.clone() : tf.concat(parts);
  } finally {
    tf.dispose(parts);
  }
}

/** One sigmoid unit (or its logit): a binary classifier whose output is the positive class's score. */
function singleUnit(task: Task, pred: tf.Tensor): boolean {
  return task.binary || (pred.shape[pred.rank - 1] ?? 1) === 1;
}

/** The true class of each row: class indices as given, the largest column of one-hot rows, 0/1 for one unit. */
export function trueClasses(task: Task, pred: tf.Tensor, y: tf.Tensor): Int32Array {
  return tf.tidy(() => {
    const rows = pred.shape[0]!;
    const columns = y.size / rows;
    if (singleUnit(task, pred) && columns === 1) return y.reshape([rows]).greater(0.5).toInt().dataSync() as Int32Array;
    if (columns === 1) return y.reshape([rows]).round().toInt().dataSync() as Int32Array;
    return y.reshape([rows, columns]).argMax(-1).toInt().dataSync() as Int32Array;
  });
}

/** Each row's predicted class, and for two classes the positive class's score (any monotone function of it). */
function predictions(task: Task, pred: tf.Tensor): { classes: Int32Array; positive?: Float32Array } {
  return tf.tidy(() => {
    const rows = pred.shape[0]!;
    if (singleUnit(task, pred)) {
      const score = pred.reshape([rows]);
      const threshold = task.outputs === "logits" ? 0 : 0.5;
      return {
        classes: score.greater(threshold).toInt().dataSync() as Int32Array,
        positive: score.dataSync() as Float32Array,
      };
    }
    const flat = pred.reshape([rows, -1]);
    const classes = flat.argMax(-1).toInt().dataSync() as Int32Array;
    if (flat.shape[1] !== 2) return { classes };
    const [negative, positive] = tf.split(flat, 2, 1) as [tf.Tensor, tf.Tensor];
    // Logits: their difference orders rows as p(class 1) does; probabilities: normalised as the loss reads them.
    const score = task.outputs === "logits" ? positive.sub(negative) : positive.div(positive.add(negative));
    return { classes, positive: score.reshape([rows]).dataSync() as Float32Array };
  });
}

/** Balanced accuracy and (two classes) AUC of a classifier's predictions; R² of a regression's. */
function taskMetrics(task: Task, pred: tf.Tensor, y: tf.Tensor): Pick<Score, "balancedAccuracy" | "auc" | "r2"> {
  if (pred.shape[0] === 0) return {};
  const finite = (name: "balancedAccuracy" | "auc" | "r2", value: number) =>
    Number.isFinite(value) ? { [name]: value } : {};
  if (task.metric !== "accuracy") {
    const [truth, values] = tf.tidy(() => [y.toFloat().reshape(pred.shape).dataSync(), pred.dataSync()]);
    return finite("r2", rSquared(truth!, values!, pred.size / pred.shape[0]!));
  }
  const truth = trueClasses(task, pred, y);
  const { classes, positive } = predictions(task, pred);
  return {
    ...finite("balancedAccuracy", balancedAccuracy(truth, classes)),
    ...(positive !== undefined
      ? finite(
          "auc",
          rocAuc(
            Array.from(truth, (c) => c === 1),
            positive,
          ),
        )
      : {}),
  };
}

export function scorePredictions(task: Task, pred: tf.Tensor, y: tf.Tensor): Score {
  const [loss, metric] = tf.tidy(() =>
    tf.stack([sampleLosses(task.loss, pred, y).mean(), sampleMetric(task, pred, y).mean()]).dataSync(),
  ) as unknown as [number, number];
  return { loss, metric, ...taskMetrics(task, pred, y) };
}

/** Rows of each class among labelled rows (classification), for the report's line on imbalance. */
export function labelClassCounts(task: Task, pred: tf.Tensor, y: tf.Tensor): number[] | undefined {
  if (task.metric !== "accuracy" || pred.shape[0] === 0) return undefined;
  const units = pred.shape[pred.rank - 1] ?? 1;
  return classCounts(trueClasses(task, pred, y), singleUnit(task, pred) ? 2 : units);
}

/** A score as reports carry it: loss, metric, and the task's further metrics where they exist. */
export function metricPair(score: Score): MetricPair {
  return {
    loss: score.loss,
    metric: score.metric,
    ...(score.balancedAccuracy !== undefined ? { balancedAccuracy: score.balancedAccuracy } : {}),
    ...(score.auc !== undefined ? { auc: score.auc } : {}),
    ...(score.r2 !== undefined ? { r2: score.r2 } : {}),
  };
}

/** True when `a` is a better metric value than `b` (higher accuracy, lower MAE). */
export function metricBetter(task: Task, a: number, b: number): boolean {
  return task.metric === "accuracy" ? a > b : a < b;
}
