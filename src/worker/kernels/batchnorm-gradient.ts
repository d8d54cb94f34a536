// The gradient of FusedBatchNorm without TF.js's tile: TF.js 4.22 builds ∂L/∂x as dy · tile(1/√(var + ε), [N, H, W, 1])
// · scale, materialising a full-size copy of a per-channel vector before multiplying; a broadcasting multiply gives
// the same values. On the CNN benchmark (bench/learned-soup-cnn) that Tile was about a quarter of a learning step's
// time on wasm. The other four derivatives are TF.js's, unchanged.
import * as tf from "@tensorflow/tfjs";

/** The axes a rank-1 statistic is broadcast over (every axis but the last), as TF.js's getReductionAxes gives them. */
function reductionAxes(mean: tf.Tensor, x: tf.Tensor): number[] {
  return mean.rank === 1 ? x.shape.slice(0, -1).map((_, i) => i) : [];
}

export const fusedBatchNormGradConfig: tf.GradConfig = {
  kernelName: "FusedBatchNorm",
  inputsToSave: ["x", "mean", "variance", "scale"],
  gradFunc: (dy, saved, attrs) => {
    const dyT = dy as tf.Tensor;
    const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
    const { varianceEpsilon } = attrs as { varianceEpsilon: number };
    const scaleValue = scale ?? tf.scalar(1);
    const axes = reductionAxes(mean, x);
    const reduce = (t: tf.Tensor) => tf.reshape(axes.length > 0 ? tf.sum(t, axes) : t, mean.shape);
    const xMinusMean = tf.sub(x, mean);
    const dyTimesScale = tf.mul(dyT, scaleValue);
    const oneOverSqrtVariance = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const minusHalfRCube = tf.mul(
      tf.mul(tf.mul(oneOverSqrtVariance, oneOverSqrtVariance), oneOverSqrtVariance),
      tf.scalar(-0.5),
    );
    return {
      x: () => tf.reshape(tf.mul(tf.mul(dyT, oneOverSqrtVariance), scaleValue), x.shape),
      mean: () => reduce(tf.mul(tf.mul(oneOverSqrtVariance, tf.scalar(-1)), dyTimesScale)),
      variance: () => reduce(tf.mul(tf.mul(minusHalfRCube, xMinusMean), dyTimesScale)),
      scale: () => reduce(tf.mul(dyT, tf.mul(xMinusMean, oneOverSqrtVariance))),
      offset: () => reduce(dyT),
    };
  },
};

let replaced = false;

/** Replaces TF.js's FusedBatchNorm gradient (for every backend: gradients are not per backend). Idempotent. */
export function registerBatchNormGradient(): void {
  if (replaced) return;
  replaced = true;
  tf.registerGradient(fusedBatchNormGradConfig);
}
