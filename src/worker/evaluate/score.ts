// Predictions of the model's current weights and their loss and task metric.
import * as tf from "@tensorflow/tfjs";
import type { Cancellation } from "../../core/cancellation.js";
import { ranges, sliceRows } from "../learn/batches.js";
import { sampleLosses, sampleMetric, type Task } from "../learn/loss.js";
import { forward } from "../learn/objective.js";
import { nextStep } from "../learn/yield.js";

export interface Score {
  readonly loss: number;
  /** Accuracy (classification) or mean absolute error (regression). */
  readonly metric: number;
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

export function scorePredictions(task: Task, pred: tf.Tensor, y: tf.Tensor): Score {
  const [loss, metric] = tf.tidy(() =>
    tf.stack([sampleLosses(task.loss, pred, y).mean(), sampleMetric(task, pred, y).mean()]).dataSync(),
  ) as unknown as [number, number];
  return { loss, metric };
}

/** True when `a` is a better metric value than `b` (higher accuracy, lower MAE). */
export function metricBetter(task: Task, a: number, b: number): boolean {
  return task.metric === "accuracy" ? a > b : a < b;
}
