/**
 * im2col: a Conv2D is a linear map over patches. Each output position reads a kh×kw×cin patch of its input; with
 * the patches as rows (in the kernel's own (dy, dx, c) order) the convolution is patches · kernel.reshape([kh·kw·cin,
 * cout]), so RegMean treats the kernel like a Dense kernel with the patches as its inputs.
 */
import * as tf from "@tensorflow/tfjs";
import { UsageError } from "../../core/errors.js";

export interface Conv2DGeometry {
  kernelSize: [number, number];
  strides: [number, number];
  dilationRate: [number, number];
  padding: "valid" | "same";
}

function pair(value: unknown, what: string, layer: string): [number, number] {
  const v = Array.isArray(value) ? value : [value, value];
  if (v.length !== 2 || !v.every((e) => Number.isInteger(e) && (e as number) > 0))
    throw new UsageError(`layer "${layer}": ${what} ${JSON.stringify(value)} is not two positive integers`);
  return v as [number, number];
}

/** The geometry of a TF.js Conv2D layer (channels-last only: the data format TF.js and Keras use by default). */
export function conv2dGeometry(layer: tf.layers.Layer): Conv2DGeometry {
  const config = layer.getConfig() as Record<string, unknown>;
  if (config.dataFormat !== undefined && config.dataFormat !== "channelsLast") {
    throw new UsageError(
      `layer "${layer.name}": RegMean reads Conv2D inputs channels-last; this layer is ${String(config.dataFormat)}`,
    );
  }
  if (config.padding !== "valid" && config.padding !== "same")
    throw new UsageError(`layer "${layer.name}": padding "${String(config.padding)}" is not supported`);
  return {
    kernelSize: pair(config.kernelSize, "kernel size", layer.name),
    strides: pair(config.strides ?? 1, "strides", layer.name),
    dilationRate: pair(config.dilationRate ?? 1, "dilation rate", layer.name),
    padding: config.padding,
  };
}

/** TensorFlow's "same" padding: total max((out−1)·stride + span − in, 0), the smaller half before. */
function padding(
  size: number,
  span: number,
  stride: number,
  mode: "valid" | "same",
): { before: number; after: number; out: number } {
  if (mode === "valid") return { before: 0, after: 0, out: Math.floor((size - span) / stride) + 1 };
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + span - size, 0);
  return { before: Math.floor(total / 2), after: total - Math.floor(total / 2), out };
}

/** The patches of a channels-last input x [b, h, w, c]: [b·oh·ow, kh·kw·c], rows in (b, oy, ox) order. */
export function conv2dPatches(x: tf.Tensor4D, g: Conv2DGeometry): tf.Tensor2D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const [kh, kw] = g.kernelSize;
    const [sh, sw] = g.strides;
    const [dh, dw] = g.dilationRate;
    const py = padding(h, (kh - 1) * dh + 1, sh, g.padding);
    const px = padding(w, (kw - 1) * dw + 1, sw, g.padding);
    if (py.out <= 0 || px.out <= 0)
      throw new UsageError(`a ${kh}×${kw} convolution does not fit an input of ${h}×${w}`);
    const padded =
      py.before + py.after + px.before + px.after > 0
        ? tf.pad(x, [
            [0, 0],
            [py.before, py.after],
            [px.before, px.after],
            [0, 0],
          ])
        : x;
    const pieces: tf.Tensor4D[] = [];
    for (let dy = 0; dy < kh; dy++) {
      for (let dx = 0; dx < kw; dx++) {
        const y0 = dy * dh;
        const x0 = dx * dw;
        pieces.push(
          tf.stridedSlice(
            padded,
            [0, y0, x0, 0],
            [b, y0 + (py.out - 1) * sh + 1, x0 + (px.out - 1) * sw + 1, c],
            [1, sh, sw, 1],
          ) as tf.Tensor4D,
        );
      }
    }
    return tf.concat(pieces, 3).reshape([b * py.out * px.out, kh * kw * c]) as tf.Tensor2D;
  });
}
