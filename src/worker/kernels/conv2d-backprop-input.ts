// Conv2DBackpropInput as one forward convolution, replacing wasm's own (correct but ~10× slower than a forward
// convolution of the same size on the LeNet layers: bench/wasm-gradients.ts). x[ih] receives ∂L/∂y[oh] · W[kh]
// where ih = oh·s + kh − top: with u = ∂L/∂y spread by the stride and the filter flipped and its in/out axes
// swapped, ∂L/∂x is a valid stride-1 convolution of u padded by (h − 1) − top in front, to length height + h − 1.
// Also the forward pass of Conv2DTranspose.
import * as tf from "@tensorflow/tfjs";
import { asTensor, convInfo, cropThenPad, explicitPadding, spreadByStride } from "./windows.js";

interface Attrs {
  strides: number | [number, number];
  pad: Parameters<typeof convInfo>[4];
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  inputShape: [number, number, number, number];
}

export function conv2dBackpropInput(dy: tf.Tensor4D, filter: tf.Tensor4D, attrs: Attrs): tf.Tensor4D {
  return tf.tidy(() => {
    const channelsFirst = attrs.dataFormat === "NCHW";
    const [b, d1, d2, d3] = attrs.inputShape;
    const inputShape: [number, number, number, number] = channelsFirst ? [b, d2, d3, d1] : [b, d1, d2, d3];
    const grad = channelsFirst ? tf.transpose(dy, [0, 2, 3, 1]) : dy;
    const [filterHeight, filterWidth] = filter.shape;
    const info = convInfo(inputShape, filter.shape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false);
    const spread = spreadByStride(grad, info.strideHeight, info.strideWidth);
    const { cropped, paddings } = cropThenPad(spread, [
      { axis: 1, before: filterHeight - 1 - info.padInfo.top, length: inputShape[1] + filterHeight - 1 },
      { axis: 2, before: filterWidth - 1 - info.padInfo.left, length: inputShape[2] + filterWidth - 1 },
    ]);
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    const dx = tf.conv2d(cropped as tf.Tensor4D, flipped, 1, explicitPadding(paddings));
    return channelsFirst ? tf.transpose(dx, [0, 3, 1, 2]) : dx;
  });
}

export const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: "Conv2DBackpropInput",
  backendName: "wasm",
  kernelFunc: ({ inputs, attrs }) =>
    conv2dBackpropInput(
      asTensor(inputs.dy!) as tf.Tensor4D,
      asTensor(inputs.filter!) as tf.Tensor4D,
      attrs as unknown as Attrs,
    ),
};
