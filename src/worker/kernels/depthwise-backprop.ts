// Depthwise convolution gradients for backends without them. Filter [h, w, in, multiplier]; output channel
// c·multiplier + m is input channel c through filter slice m.
//  - filter: ∂L/∂W[kh, kw, c, m] = Σ tap(kh, kw)[…, c] · ∂L/∂y[…, c, m], one product-and-sum per filter tap;
//  - input: ∂L/∂x is ∂L/∂y spread by the stride, padded, and correlated (depthwise, same dilation) with the
//    spatially flipped filter, then summed over the multiplier.
import * as tf from "@tensorflow/tfjs";
import { asTensor, convInfo, cropThenPad, explicitPadding, spreadByStride, tapsOf } from "./windows.js";

interface Common {
  strides: number | [number, number];
  dilations: number | [number, number];
  pad: Parameters<typeof convInfo>[4];
  dimRoundingMode?: "floor" | "round" | "ceil";
}

export function depthwiseBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  attrs: Common & { filterShape: [number, number, number, number] },
): tf.Tensor4D {
  return tf.tidy(() => {
    const [filterHeight, filterWidth, channels, multiplier] = attrs.filterShape;
    const info = convInfo(
      x.shape,
      attrs.filterShape,
      attrs.strides,
      attrs.dilations,
      attrs.pad,
      attrs.dimRoundingMode,
      true,
    );
    const tap = tapsOf(x, info);
    const dyRows = dy.reshape([-1, channels, multiplier]);
    const perTap: tf.Tensor[] = [];
    for (let kh = 0; kh < filterHeight; kh++) {
      for (let kw = 0; kw < filterWidth; kw++) {
        perTap.push(tf.sum(tf.mul(tap(kh, kw).reshape([-1, channels, 1]), dyRows), 0));
      }
    }
    return tf.stack(perTap).reshape([filterHeight, filterWidth, channels, multiplier]);
  });
}

export function depthwiseBackpropInput(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  attrs: Common & { inputShape: [number, number, number, number] },
): tf.Tensor4D {
  return tf.tidy(() => {
    const [batch, height, width, channels] = attrs.inputShape;
    const [filterHeight, filterWidth, , multiplier] = filter.shape;
    const info = convInfo(
      attrs.inputShape,
      filter.shape,
      attrs.strides,
      attrs.dilations,
      attrs.pad,
      attrs.dimRoundingMode,
      true,
    );
    const { dilationHeight: dh, dilationWidth: dw } = info;
    // x[ih] receives dy[oh]·W[kh] where ih = oh·s + kh·d − top; with u = dy spread by the stride and the filter
    // flipped (kf = h − 1 − kh), x[ih] = Σ_kf u[ih + kf·d − ((h − 1)·d − top)] · Wflip[kf]: a valid correlation of u
    // padded by (h − 1)·d − top in front, to length height + (h − 1)·d.
    const spread = spreadByStride(dy, info.strideHeight, info.strideWidth);
    const { cropped, paddings } = cropThenPad(spread, [
      { axis: 1, before: (filterHeight - 1) * dh - info.padInfo.top, length: height + (filterHeight - 1) * dh },
      { axis: 2, before: (filterWidth - 1) * dw - info.padInfo.left, length: width + (filterWidth - 1) * dw },
    ]);
    const flipped = tf
      .reverse(filter, [0, 1])
      .reshape([filterHeight, filterWidth, channels * multiplier, 1]) as tf.Tensor4D;
    const perOutput = tf.depthwiseConv2d(cropped as tf.Tensor4D, flipped, 1, explicitPadding(paddings), "NHWC", [
      dh,
      dw,
    ]);
    return multiplier === 1 ? perOutput : perOutput.reshape([batch, height, width, channels, multiplier]).sum(-1);
  });
}

export const depthwiseBackpropFilterConfig: tf.KernelConfig = {
  kernelName: "DepthwiseConv2dNativeBackpropFilter",
  backendName: "wasm",
  kernelFunc: ({ inputs, attrs }) =>
    depthwiseBackpropFilter(
      asTensor(inputs.x!) as tf.Tensor4D,
      asTensor(inputs.dy!) as tf.Tensor4D,
      attrs as unknown as Parameters<typeof depthwiseBackpropFilter>[2],
    ),
};

export const depthwiseBackpropInputConfig: tf.KernelConfig = {
  kernelName: "DepthwiseConv2dNativeBackpropInput",
  backendName: "wasm",
  kernelFunc: ({ inputs, attrs }) =>
    depthwiseBackpropInput(
      asTensor(inputs.dy!) as tf.Tensor4D,
      asTensor(inputs.filter!) as tf.Tensor4D,
      attrs as unknown as Parameters<typeof depthwiseBackpropInput>[2],
    ),
};
