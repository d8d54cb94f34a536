// The cpu backend's ResizeNearestNeighborGrad (UpSampling2D's gradient) reads ∂L/∂y at the image's batch offset
// instead of ∂L/∂y's own (TF.js 4.22), so every batch row after the first gets a wrong gradient. Its one-row
// result is right: this kernel runs it once per batch row and stacks the rows.
import * as tf from "@tensorflow/tfjs";
import { asTensor } from "./windows.js";

export function perBatchRow(original: tf.KernelConfig): tf.KernelConfig {
  return {
    ...original,
    kernelFunc: ({ inputs, attrs, backend }) =>
      tf.tidy(() => {
        const images = asTensor(inputs.images!);
        const dy = asTensor(inputs.dy!);
        const batch = images.shape[0]!;
        if (batch === 1)
          return tf.engine().makeTensorFromTensorInfo(original.kernelFunc({ inputs, attrs, backend }) as tf.TensorInfo);
        const rows = Array.from({ length: batch }, (_, b) => {
          const one = { images: tf.slice(images, b, 1), dy: tf.slice(dy, b, 1) };
          return tf
            .engine()
            .makeTensorFromTensorInfo(original.kernelFunc({ inputs: one, attrs, backend }) as tf.TensorInfo);
        });
        return tf.concat(rows, 0);
      }),
  };
}
