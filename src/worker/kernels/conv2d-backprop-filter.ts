// Conv2DBackpropFilter for backends without it: ∂L/∂W[kh, kw] = Σ over batch and output positions of the input
// tap (kh, kw) times ∂L/∂y, one matrix product per filter tap. Memory stays near one input-sized slice at a time
// (a full im2col matrix would be filterHeight·filterWidth times the input).
import * as tf from "@tensorflow/tfjs";
import { asTensor, convInfo, tapsOf } from "./windows.js";

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
    const [filterHeight, filterWidth, inChannels, outChannels] = attrs.filterShape;
    const info = convInfo(input.shape, attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false);
    const tap = tapsOf(input, info);
    const dyRows = grad.reshape([-1, outChannels]);
    const perTap: tf.Tensor[] = [];
    for (let kh = 0; kh < filterHeight; kh++) {
      for (let kw = 0; kw < filterWidth; kw++) {
        perTap.push(tf.matMul(tap(kh, kw).reshape([-1, inChannels]), dyRows, true, false));
      }
    }
    return tf.stack(perTap).reshape([filterHeight, filterWidth, inChannels, outChannels]);
  });
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: "Conv2DBackpropFilter",
  backendName: "wasm",
  kernelFunc: ({ inputs, attrs }) =>
    conv2dBackpropFilter(asTensor(inputs.x!) as tf.Tensor4D, asTensor(inputs.dy!) as tf.Tensor4D, attrs as unknown as Attrs),
};
