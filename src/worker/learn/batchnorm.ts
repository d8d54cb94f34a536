// Re-estimates BatchNormalization moving statistics of the merged model from data: averaging the ingredients'
// statistics does not give the statistics of the averaged network's activations.
import * as tf from "@tensorflow/tfjs";
import type { Cancellation } from "../../core/cancellation.js";
import { ranges, sliceRows } from "./batches.js";
import { tensorOf } from "./problem.js";
import { nextStep } from "./yield.js";

export function batchNormLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.filter((l) => l.getClassName() === "BatchNormalization");
}

export function hasBatchNorm(model: tf.LayersModel): boolean {
  return batchNormLayers(model).length > 0;
}

function statVariable(layer: tf.layers.Layer, suffix: string): tf.LayerVariable {
  const v = layer.weights.find((w) => w.originalName.endsWith(suffix) || w.name.endsWith(suffix));
  if (v === undefined) throw new Error(`BatchNormalization layer ${layer.name} has no ${suffix} weight`);
  return v;
}

/**
 * Sets each BatchNormalization layer's moving mean/variance to the exact mean and (biased) variance of its input
 * over `x`, layer after layer in model order, so each layer sees its predecessors' re-estimated statistics.
 * Returns the names of the layers updated. Yields to the event loop before each batch (see nextStep).
 */
export async function reestimateBatchNorm(
  model: tf.LayersModel,
  x: tf.Tensor,
  batchSize = 256,
  cancel?: Cancellation,
): Promise<string[]> {
  const layers = batchNormLayers(model);
  const n = x.shape[0]!;
  for (const layer of layers) {
    const probe = tf.model({ inputs: model.inputs, outputs: layer.input as tf.SymbolicTensor });
    const rank = (layer.input as tf.SymbolicTensor).shape.length;
    const configAxis = (layer.getConfig() as { axis?: number | number[] }).axis ?? -1;
    const axis =
      (Array.isArray(configAxis) ? configAxis[0]! : configAxis) < 0
        ? rank + (configAxis as number)
        : (configAxis as number);
    const reduceAxes = Array.from({ length: rank }, (_, i) => i).filter((i) => i !== axis);
    // Chan et al.'s pairwise combination of per-batch moments, in float64.
    let count = 0;
    let mean: Float64Array | undefined;
    let m2: Float64Array | undefined;
    for (const [start, end] of ranges(n, batchSize)) {
      await nextStep(cancel);
      const [bMean, bVar, bCount] = tf.tidy(() => {
        const input = probe.apply(sliceRows(x, start, end), { training: false }) as tf.Tensor;
        const moments = tf.moments(input, reduceAxes);
        const perChannel = input.size / input.shape[axis]!;
        return [moments.mean.dataSync(), moments.variance.dataSync(), perChannel] as const;
      });
      if (mean === undefined || m2 === undefined) {
        mean = Float64Array.from(bMean);
        m2 = Float64Array.from(bVar, (v) => v * bCount);
        count = bCount;
        continue;
      }
      const total = count + bCount;
      for (let c = 0; c < mean.length; c++) {
        const delta = bMean[c]! - mean[c]!;
        mean[c] += (delta * bCount) / total;
        m2[c] += bVar[c]! * bCount + (delta * delta * count * bCount) / total;
      }
      count = total;
    }
    if (mean === undefined || m2 === undefined) continue;
    const variance = m2.map((v) => v / count);
    const movingMean = statVariable(layer, "moving_mean");
    const movingVariance = statVariable(layer, "moving_variance");
    tf.tidy(() => {
      movingMean.write(tf.tensor(Float32Array.from(mean!), tensorOf(movingMean).shape));
      movingVariance.write(tf.tensor(Float32Array.from(variance), tensorOf(movingVariance).shape));
    });
  }
  return layers.map((l) => l.name);
}

/** Moving statistics of every BatchNormalization layer: the variables and the values to write into them. */
export interface BatchNormStatistics {
  readonly layers: readonly string[];
  readonly variables: readonly tf.LayerVariable[];
  readonly values: readonly Float32Array[];
}

/** The moving mean and variance of every BatchNormalization layer, in layer order (the BatchNormState order). */
export function statVariables(model: tf.LayersModel): tf.LayerVariable[] {
  return batchNormLayers(model).flatMap((l) => [statVariable(l, "moving_mean"), statVariable(l, "moving_variance")]);
}

/** The statistics now in the model's BatchNormalization layers. */
export function batchNormSnapshot(model: tf.LayersModel): BatchNormStatistics {
  const variables = statVariables(model);
  return {
    layers: batchNormLayers(model).map((l) => l.name),
    variables,
    values: variables.map((v) => Float32Array.from(tensorOf(v).dataSync() as Float32Array)),
  };
}

/** Writes recorded statistics back into their variables. */
export function writeBatchNormStatistics(statistics: BatchNormStatistics): void {
  tf.tidy(() => statistics.variables.forEach((v, k) => v.write(tf.tensor(statistics.values[k]!, tensorOf(v).shape))));
}

/** A soup's validation score as it will be written, and the re-estimated statistics when they were kept. */
export interface BatchNormChoice<S extends { readonly loss: number }> {
  readonly score: S;
  /** Present when re-estimating the statistics on the learning data lowered the validation loss. */
  readonly statistics?: BatchNormStatistics;
}

/**
 * BatchNormalization statistics are part of what a soup is. With the soup's weights (averaged statistics
 * included) in the model: scores it, re-estimates the statistics on `learnX`, scores again, and keeps (in the
 * model, and in the answer) whichever has the lower validation loss. Without BatchNormalization layers or data,
 * the soup is scored as it is.
 */
export async function chooseBatchNorm<S extends { readonly loss: number }>(
  model: tf.LayersModel,
  score: () => Promise<S>,
  learnX: tf.Tensor | undefined,
  options: { batchSize?: number; cancel?: Cancellation } = {},
): Promise<BatchNormChoice<S>> {
  const averagedScore = await score();
  if (learnX === undefined || !hasBatchNorm(model) || learnX.shape[0] === 0) return { score: averagedScore };
  const averaged = batchNormSnapshot(model);
  await reestimateBatchNorm(model, learnX, options.batchSize, options.cancel);
  const reestimatedScore = await score();
  if (reestimatedScore.loss < averagedScore.loss)
    return { score: reestimatedScore, statistics: batchNormSnapshot(model) };
  writeBatchNormStatistics(averaged);
  return { score: averagedScore };
}
