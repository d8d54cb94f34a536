// Shared geometry of the convolution-gradient kernels: padded inputs, one strided slice per filter tap.
import * as tf from "@tensorflow/tfjs";

export type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;
type Pad = Parameters<typeof tf.backend_util.computeConv2DInfo>[4];

/**
 * Kernel inputs arrive as tensors from the ops; a bare TensorInfo is wrapped, with its own reference on the data so
 * that the enclosing tidy releasing the wrapper leaves the caller's data alive.
 */
export function asTensor(info: tf.TensorInfo): tf.Tensor {
  if (info instanceof tf.Tensor) return info;
  const engine = tf.engine();
  engine.backend.incRef(info.dataId);
  return engine.makeTensorFromTensorInfo(info);
}

/** Geometry of a stride/dilation/padding convolution of an NHWC input by an [h, w, in, out] filter. */
export function convInfo(
  xShape: readonly number[],
  filterShape: readonly number[],
  strides: number | [number, number],
  dilations: number | [number, number],
  pad: Pad,
  dimRoundingMode: "floor" | "round" | "ceil" | undefined,
  depthwise: boolean,
): Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    depthwise,
    "channelsLast",
  );
}

type AxisSpans = ReadonlyArray<{ axis: number; before: number; length: number }>;

/**
 * For each axis given: pads (positive `before`) or crops (negative) its start, then pads or crops its end so the
 * axis is `length` long. Zero padding: the convolution's own padding is zeros. In at most one pad and one slice
 * (each a full copy on wasm).
 */
export function padOrCropAxes(t: tf.Tensor, axes: AxisSpans): tf.Tensor {
  const { cropped, paddings } = cropThenPad(t, axes);
  return paddings.some(([a, b]) => a > 0 || b > 0) ? tf.pad(cropped, paddings) : cropped;
}

/**
 * padOrCropAxes split into its crop, done here (a slice, only when some axis is cropped), and the zero padding
 * still to add, [before, after] per axis: a convolution can take that padding itself, without a padded copy.
 */
export function cropThenPad(t: tf.Tensor, axes: AxisSpans): { cropped: tf.Tensor; paddings: Array<[number, number]> } {
  const paddings = t.shape.map((): [number, number] => [0, 0]);
  const begin = t.shape.map(() => 0);
  const size = [...t.shape];
  for (const { axis, before, length } of axes) {
    // Element i lands at i + before: keep the elements that land inside [0, length), pad around them.
    const n = t.shape[axis]!;
    const first = Math.max(-before, 0);
    const kept = Math.max(Math.min(n, length - before) - first, 0);
    begin[axis] = first;
    size[axis] = kept;
    paddings[axis] = [Math.max(before, 0), length - Math.max(before, 0) - kept];
  }
  const whole = size.every((n, a) => begin[a] === 0 && n === t.shape[a]);
  return { cropped: whole ? t : tf.slice(t, begin, size), paddings };
}

/**
 * The input as every filter tap sees it: `tap(kh, kw)` is the [batch, outHeight, outWidth, channels] slice of
 * the padded input that meets filter position (kh, kw), i.e. x[b, oh·sh + kh·dh − top, ow·sw + kw·dw − left, c].
 */
export function tapsOf(x: tf.Tensor4D, info: Conv2DInfo): (kh: number, kw: number) => tf.Tensor4D {
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, outHeight, outWidth } = info;
  const rows = (outHeight - 1) * sh + (info.filterHeight - 1) * dh + 1;
  const cols = (outWidth - 1) * sw + (info.filterWidth - 1) * dw + 1;
  const padded = padOrCropAxes(x, [
    { axis: 1, before: info.padInfo.top, length: rows },
    { axis: 2, before: info.padInfo.left, length: cols },
  ]) as tf.Tensor4D;
  const [batch, , , channels] = x.shape;
  return (kh, kw) => {
    const top = kh * dh;
    const left = kw * dw;
    if (sh === 1 && sw === 1) return tf.slice(padded, [0, top, left, 0], [batch, outHeight, outWidth, channels]);
    return tf.stridedSlice(
      padded,
      [0, top, left, 0],
      [batch, top + (outHeight - 1) * sh + 1, left + (outWidth - 1) * sw + 1, channels],
      [1, sh, sw, 1],
    ) as tf.Tensor4D;
  };
}

/** Spreads [b, h, w, c] onto a grid with stride (sh, sw): value (i, j) lands at (i·sh, j·sw), zeros between. */
export function spreadByStride(t: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return t;
  const [b, h, w, c] = t.shape;
  const grid = tf.pad(t.reshape([b, h, 1, w, 1, c]), [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  return tf.slice(
    grid.reshape([b, h * sh, w * sw, c]) as tf.Tensor4D,
    [0, 0, 0, 0],
    [b, (h - 1) * sh + 1, (w - 1) * sw + 1, c],
  );
}

/** [before, after] paddings of an NHWC tensor as the explicit padding tf.conv2d takes (batch and channels unpadded). */
export function explicitPadding(paddings: ReadonlyArray<[number, number]>): tf.backend_util.ExplicitPadding {
  return [[0, 0], paddings[1]!, paddings[2]!, [0, 0]];
}
