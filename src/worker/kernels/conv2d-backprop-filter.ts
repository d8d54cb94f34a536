// Conv2DBackpropFilter for backends without it, as one forward convolution with the roles swapped:
// ∂L/∂W[kh, kw, i, o] = Σ_b,oh,ow x[b, oh·s + kh, ow·s + kw, i] · ∂L/∂y[b, oh, ow, o] is a convolution of the
// padded input seen as [in, height, width, batch] (batch = input channels, channels = batch rows) by ∂L/∂y seen
// as an [outHeight, outWidth, batch, out] filter with dilation = stride. Its output is exactly the
// filterHeight × filterWidth window. Measured on the LeNet layers (bench/wasm-gradients.ts) this is 4–14× faster
// on wasm than one matrix product per filter tap, and it allocates only the two transposed copies.
import * as tf from "@tensorflow/tfjs";
import { asTensor, convInfo, cropThenPad, explicitPadding } from "./windows.js";

interface Attrs {
  strides: number | [number, number];
  pad: Parameters<typeof convInfo>[4];
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  filterShape: [number, number, number, number];
}

export function conv2dBackpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: Attrs): tf.Tensor4D {
  return tf.tidy(() => {
    const channelsFirst = attrs.dataFormat === "NCHW";
    const input = channelsFirst ? tf.transpose(x, [0, 2, 3, 1]) : x;
    const grad = channelsFirst ? tf.transpose(dy, [0, 2, 3, 1]) : dy;
    const [filterHeight, filterWidth] = attrs.filterShape;
    const info = convInfo(input.shape, attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false);
    const { strideHeight: sh, strideWidth: sw, outHeight, outWidth } = info;
    // The rows and columns the windows read, zero padded in front and cropped or padded behind; the convolution
    // adds the padding itself (the transpose keeps the spatial axes at 1 and 2).
    const { cropped, paddings } = cropThenPad(input, [
      { axis: 1, before: info.padInfo.top, length: (outHeight - 1) * sh + filterHeight },
      { axis: 2, before: info.padInfo.left, length: (outWidth - 1) * sw + filterWidth },
    ]);
    const swapped = tf.transpose(cropped, [3, 1, 2, 0]) as tf.Tensor4D;
    const filter = tf.transpose(grad, [1, 2, 0, 3]) as tf.Tensor4D;
    const window = tf.conv2d(swapped, filter, 1, explicitPadding(paddings), "NHWC", [sh, sw]);
    return tf.transpose(window, [1, 2, 0, 3]);
  });
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: "Conv2DBackpropFilter",
  backendName: "wasm",
  kernelFunc: ({ inputs, attrs }) =>
    conv2dBackpropFilter(
      asTensor(inputs.x!) as tf.Tensor4D,
      asTensor(inputs.dy!) as tf.Tensor4D,
      attrs as unknown as Attrs,
    ),
};
