// The gradient of FusedBatchNorm without TF.js's tile: TF.js 4.22 builds ∂L/∂x as dy · tile(1/√(var + ε), [N, H, W, 1])
// · scale, materialising a full-size copy of a per-channel vector before multiplying; a broadcasting multiply gives
// the same values. On the CNN benchmark (bench/learned-soup-cnn) that Tile was about a quarter of a learning step's
// time on wasm. TF.js also reduces a full-size product for each of the other four derivatives; here they share
// two reductions (full-size sums and products are what a BatchNormalization gradient costs on wasm), each one
// average pooling on wasm (leading-sum.ts).
import * as tf from "@tensorflow/tfjs";
import { sumOverLeadingAxes } from "./leading-sum.js";

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
    const reduce = (t: tf.Tensor) => tf.reshape(axes.length > 0 ? sumOverLeadingAxes(t) : t, mean.shape);
    // y = (x − mean)·r·scale + offset with r = 1/√(var + ε): the four statistic gradients need only two
    // full-size reductions, Σ dy and Σ dy·(x − mean), taken once and shared.
    const r = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const sumDy = reduce(dyT);
    const sumDyCentred = reduce(tf.mul(dyT, tf.sub(x, mean)));
    return {
      x: () => tf.reshape(tf.mul(dyT, tf.mul(r, scaleValue)), x.shape),
      mean: () => tf.neg(tf.mul(tf.mul(r, scaleValue), sumDy)),
      variance: () => tf.mul(tf.mul(tf.mul(tf.mul(tf.mul(r, r), r), tf.scalar(-0.5)), scaleValue), sumDyCentred),
      scale: () => tf.mul(r, sumDyCentred),
      // Its own buffer: the tape may dispose a returned gradient once it has been added to another.
      offset: () => tf.clone(sumDy),
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
