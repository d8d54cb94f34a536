// Loss and ∂L/∂θ of the soup: merge once, one forward+backward per batch, N dot products per variable.
import * as tf from "@tensorflow/tfjs";
import type { Cancellation } from "../../core/cancellation.js";
import { chainToTheta, coefficientsOf } from "./coefficients.js";
import type { Merger } from "./merge.js";
import { forward, sampleObjective, type Objective } from "./objective.js";
import { sampleMetric } from "./loss.js";
import { ranges, sliceRows } from "./batches.js";
import { tensorOf, type SoupData } from "./problem.js";
import { nextStep } from "./yield.js";

export interface LossAndGradient {
  readonly loss: number;
  readonly grad: Float64Array;
}

export class SoupGradient {
  constructor(
    readonly merger: Merger,
    readonly objective: Objective,
  ) {}

  /** Mean objective over the batch (x, y) and its gradient with respect to θ. */
  batch(theta: Float64Array, x: tf.Tensor, y: tf.Tensor | undefined): LossAndGradient {
    this.merger.write(coefficientsOf(this.merger.space, theta));
    const { loss, gradAlpha } = this.gradAlphaOnBatch(x, y);
    return { loss, grad: chainToTheta(this.merger.space, theta, gradAlpha) };
  }

  /**
   * Mean objective over all of `data` (batched, one forward+backward per batch) and its gradient; yields to the
   * event loop and checks `cancel` before each batch.
   */
  async full(theta: Float64Array, data: SoupData, batchSize: number, cancel?: Cancellation): Promise<LossAndGradient> {
    this.merger.write(coefficientsOf(this.merger.space, theta));
    const n = data.x.shape[0]!;
    let loss = 0;
    const gradAlpha = new Float64Array(theta.length);
    for (const [start, end] of ranges(n, batchSize)) {
      await nextStep(cancel);
      const x = sliceRows(data.x, start, end);
      const y = data.y === undefined ? undefined : sliceRows(data.y, start, end);
      let part: { loss: number; gradAlpha: Float64Array };
      try {
        part = this.gradAlphaOnBatch(x, y);
      } finally {
        tf.dispose([x, y].filter((t): t is tf.Tensor => t !== undefined));
      }
      const weight = (end - start) / n;
      loss += part.loss * weight;
      for (let k = 0; k < gradAlpha.length; k++) gradAlpha[k] += part.gradAlpha[k]! * weight;
    }
    return { loss, grad: chainToTheta(this.merger.space, theta, gradAlpha) };
  }

  private gradAlphaOnBatch(x: tf.Tensor, y: tf.Tensor | undefined): { loss: number; gradAlpha: Float64Array } {
    return gradAlphaOnBatch(this.merger, this.objective, x, y);
  }
}

/**
 * At the soup now written by `merger`, inference mode: the mean objective over the batch (x, y) and its gradient
 * with respect to α (one forward+backward, then N dot products per variable).
 */
export function gradAlphaOnBatch(
  merger: Merger,
  objective: Objective,
  x: tf.Tensor,
  y: tf.Tensor | undefined,
): { loss: number; gradAlpha: Float64Array } {
  const variables = merger.variables.map(tensorOf);
  // variableGrads skips non-trainable variables, but the merged BatchNormalization statistics are inputs of
  // the inference-mode loss like any weight: mark them trainable for the duration of the gradient.
  const wasTrainable = variables.map((v) => v.trainable);
  variables.forEach((v) => (v.trainable = true));
  try {
    const { value, grads } = tf.variableGrads(
      () => tf.tidy(() => sampleObjective(objective, forward(merger.problem.model, x), y).mean() as tf.Scalar),
      variables,
    );
    const gradAlpha = merger.gradAlpha(variables.map((v) => grads[v.name] ?? null));
    const loss = value.dataSync()[0]!;
    tf.dispose([value, ...Object.values(grads).filter((g): g is tf.Tensor => g !== null)]);
    return { loss, gradAlpha };
  } finally {
    variables.forEach((v, k) => (v.trainable = wasTrainable[k]!));
  }
}

export interface SplitScore {
  readonly loss: number;
  /** Task metric (accuracy or MAE); undefined without labels. */
  readonly metric?: number;
}

/** Objective and task metric of the model's current weights over `data` (no gradient); yields before each batch. */
export async function scoreModel(
  model: tf.LayersModel,
  objective: Objective,
  data: SoupData,
  batchSize: number,
  cancel?: Cancellation,
): Promise<SplitScore> {
  const n = data.x.shape[0]!;
  let loss = 0;
  let metric = 0;
  for (const [start, end] of ranges(n, batchSize)) {
    await nextStep(cancel);
    const [l, m] = tf.tidy(() => {
      // One batch covering the split needs no copy of it.
      const whole = start === 0 && end === n;
      const x = whole ? data.x : sliceRows(data.x, start, end);
      const y = data.y === undefined ? undefined : whole ? data.y : sliceRows(data.y, start, end);
      const pred = forward(model, x);
      const batchLoss = sampleObjective(objective, pred, y).sum();
      const batchMetric = y === undefined ? tf.scalar(0) : sampleMetric(objective.task, pred, y).sum();
      return tf.stack([batchLoss, batchMetric]).dataSync();
    }) as unknown as [number, number];
    loss += l;
    metric += m;
  }
  return { loss: loss / n, metric: data.y === undefined ? undefined : metric / n };
}
