// FusedBatchNorm for wasm as one multiply and one add: y = x·a + b with a = scale/√(var + ε) and
// b = offset − mean·a computed once per channel. tfjs-wasm's own kernel works element by element through the
// statistics (about 4 ms for a [64, 32, 32, 16] tensor against about 2 ms here, bench/learned-soup-cnn/profile.ts).
// This is the form PyTorch's reference uses for inference-mode BatchNormalization. Statistics of another shape
// than one value per channel go to TF.js's kernel.
import * as tf from "@tensorflow/tfjs";
import { asTensor } from "./windows.js";

/** FusedBatchNorm for wasm around TF.js's own wasm kernel (`plain`), used for statistics not per channel. */
export function fusedBatchNormConfig(plain: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: "FusedBatchNorm",
    backendName: "wasm",
    kernelFunc: (args) => {
      const { x, mean, variance, offset, scale } = args.inputs;
      const channels = x!.shape.at(-1);
      const perChannel = [mean, variance, offset, scale].every(
        (t) => t === undefined || (t.shape.length === 1 && t.shape[0] === channels),
      );
      if (!perChannel || x!.dtype !== "float32" || x!.shape.length < 2) return plain.kernelFunc(args);
      const { varianceEpsilon } = args.attrs as unknown as { varianceEpsilon: number };
      return tf.tidy(() => {
        const r = tf.rsqrt(tf.add(asTensor(variance!), tf.scalar(varianceEpsilon)));
        const a = scale === undefined ? r : tf.mul(r, asTensor(scale));
        const shift = tf.mul(asTensor(mean!), a);
        const b = offset === undefined ? tf.neg(shift) : tf.sub(asTensor(offset), shift);
        return tf.add(tf.mul(asTensor(x!), a), b);
      });
    },
  };
}
