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

/**
 * The values of the tensor `make` returns, its intermediates freed. Read outside tf.tidy: a tidy that returns a
 * typed array walks every element of it looking for tensors (a Set of every distinct value), which cost 1 s of a
 * 12 s `learn` on 400,000 rows.
 */
function valuesOf<T extends tf.TypedArray>(make: () => tf.Tensor): T {
  const t = tf.tidy(make);
  try {
    return t.dataSync() as T;
  } finally {
    t.dispose();
  }
}

/** The true class of each row: class indices as given, the largest column of one-hot rows, 0/1 for one unit. */
export function trueClasses(task: Task, pred: tf.Tensor, y: tf.Tensor): Int32Array {
  const rows = pred.shape[0]!;
  const columns = y.size / rows;
  return valuesOf<Int32Array>(() => {
    if (singleUnit(task, pred) && columns === 1) return y.reshape([rows]).greater(0.5).toInt();
    if (columns === 1) return y.reshape([rows]).round().toInt();
    return y.reshape([rows, columns]).argMax(-1).toInt();
  });
}

/** Each row's predicted class, and for two classes the positive class's score (any monotone function of it). */
function predictions(task: Task, pred: tf.Tensor): { classes: Int32Array; positive?: Float32Array } {
  const rows = pred.shape[0]!;
  if (singleUnit(task, pred)) {
    const threshold = task.outputs === "logits" ? 0 : 0.5;
    return {
      classes: valuesOf<Int32Array>(() => pred.reshape([rows]).greater(threshold).toInt()),
      positive: valuesOf<Float32Array>(() => pred.reshape([rows])),
    };
  }
  const classes = valuesOf<Int32Array>(() => pred.reshape([rows, -1]).argMax(-1).toInt());
  if (pred.size / rows !== 2) return { classes };
  const positive = valuesOf<Float32Array>(() => {
    const [negative, positive] = tf.split(pred.reshape([rows, 2]), 2, 1) as [tf.Tensor, tf.Tensor];
    // Logits: their difference orders rows as p(class 1) does; probabilities: normalised as the loss reads them.
    const score = task.outputs === "logits" ? positive.sub(negative) : positive.div(positive.add(negative));
    return score.reshape([rows]);
  });
  return { classes, positive };
}

/** Balanced accuracy and (two classes) AUC of a classifier's predictions; R² of a regression's. */
function taskMetrics(task: Task, pred: tf.Tensor, y: tf.Tensor): Pick<Score, "balancedAccuracy" | "auc" | "r2"> {
  if (pred.shape[0] === 0) return {};
  const finite = (name: "balancedAccuracy" | "auc" | "r2", value: number) =>
    Number.isFinite(value) ? { [name]: value } : {};
  if (task.metric !== "accuracy") {
    const truth = valuesOf<Float32Array>(() => y.toFloat().reshape(pred.shape));
    return finite("r2", rSquared(truth, pred.dataSync() as Float32Array, pred.size / pred.shape[0]!));
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
