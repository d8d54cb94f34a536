// Max- and average-pooling gradients (2-D and 3-D, channels last), from slices, pads and elementwise operations.
// Why ours: on TF.js 4.22 the wasm MaxPoolGrad and MaxPool3DGrad return wrong values (relative error ~0.4 against
// central differences), the wasm MaxPool3D forward is wrong for some shapes (e.g. [1, 4, 4, 4, 2] pooled by 2),
// and every backend's AvgPoolGrad/AvgPool3DGrad divide by the whole window where the forward pass divides by the
// cells inside the input ('same' padding). Each window tap is a strided slice of the
// padded input; its gradient goes back through the adjoint of that slice (spread by the stride, padded into
// place) and the taps' contributions add up.
import * as tf from "@tensorflow/tfjs";
import { asTensor } from "./windows.js";

type Pad = "valid" | "same" | number | tf.backend_util.ExplicitPadding;

/** Spatial geometry of a pooling: per spatial axis (1 … rank − 2) of a channels-last input. */
interface PoolGeometry {
  readonly input: readonly number[];
  readonly out: readonly number[];
  readonly window: readonly number[];
  readonly strides: readonly number[];
  readonly before: readonly number[];
}

function geometry2d(
  inShape: number[],
  filterSize: number | [number, number],
  strides: number | [number, number],
  pad: Pad,
  rounding?: "floor" | "round" | "ceil",
): PoolGeometry {
  const i = tf.backend_util.computePool2DInfo(
    inShape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    rounding,
  );
  return {
    input: [i.inHeight, i.inWidth],
    out: [i.outHeight, i.outWidth],
    window: [i.filterHeight, i.filterWidth],
    strides: [i.strideHeight, i.strideWidth],
    before: [i.padInfo.top, i.padInfo.left],
  };
}

function geometry3d(
  inShape: number[],
  filterSize: number | [number, number, number],
  strides: number | [number, number, number],
  pad: "valid" | "same" | number,
  rounding?: "floor" | "round" | "ceil",
): PoolGeometry {
  const i = tf.backend_util.computePool3DInfo(
    inShape as [number, number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    rounding,
  );
  return {
    input: [i.inDepth, i.inHeight, i.inWidth],
    out: [i.outDepth, i.outHeight, i.outWidth],
    window: [i.filterDepth, i.filterHeight, i.filterWidth],
    strides: [i.strideDepth, i.strideHeight, i.strideWidth],
    before: [i.padInfo.front, i.padInfo.top, i.padInfo.left],
  };
}

/** Every offset of the window, first axis slowest (the order in which TF picks the first maximum). */
function offsets(window: readonly number[]): number[][] {
  return window.reduce<number[][]>(
    (acc, size) => acc.flatMap((o) => Array.from({ length: size }, (_, k) => [...o, k])),
    [[]],
  );
}

/** Extent of the padded input that the windows read, per spatial axis. */
function extent(g: PoolGeometry): number[] {
  return g.out.map((o, a) => (o - 1) * g.strides[a]! + g.window[a]!);
}

/** The input padded (with `value`) and cropped to the extent the windows read. */
function padToExtent(x: tf.Tensor, g: PoolGeometry, value: number): tf.Tensor {
  const ext = extent(g);
  const paddings: Array<[number, number]> = [
    [0, 0],
    ...g.before.map((b, a): [number, number] => [b, Math.max(0, ext[a]! - b - g.input[a]!)]),
    [0, 0],
  ];
  const padded = tf.pad(x, paddings, value);
  return tf.slice(
    padded,
    padded.shape.map(() => 0),
    [x.shape[0]!, ...ext, x.shape.at(-1)!],
  );
}

/** Tap `offset` of every window: the [batch, ...out, channels] strided slice of the padded input. */
function tap(padded: tf.Tensor, g: PoolGeometry, offset: readonly number[]): tf.Tensor {
  const begin = [0, ...offset, 0];
  const end = [
    padded.shape[0]!,
    ...offset.map((o, a) => o + (g.out[a]! - 1) * g.strides[a]! + 1),
    padded.shape.at(-1)!,
  ];
  if (g.strides.every((s) => s === 1))
    return tf.slice(
      padded,
      begin,
      end.map((e, a) => e - begin[a]!),
    );
  return tf.stridedSlice(padded, begin, end, [1, ...g.strides, 1]);
}

/** Adjoint of `tap`: [batch, ...out, channels] values placed back at their cells of the padded extent. */
function untap(values: tf.Tensor, g: PoolGeometry, offset: readonly number[]): tf.Tensor {
  let spread = values;
  // Interleave stride − 1 zeros after each value, one spatial axis at a time in a rank-4 view (wasm's pad takes
  // at most 6 dimensions), then drop the trailing zeros.
  g.strides.forEach((s, a) => {
    if (s === 1) return;
    const shape = spread.shape;
    const outer = shape.slice(0, a + 1).reduce((p, q) => p * q, 1);
    const inner = shape.slice(a + 2).reduce((p, q) => p * q, 1);
    const grid = tf.pad(spread.reshape([outer, g.out[a]!, 1, inner]), [
      [0, 0],
      [0, 0],
      [0, s - 1],
      [0, 0],
    ]);
    const spreadShape = shape.map((n, k) => (k === a + 1 ? (g.out[a]! - 1) * s + 1 : n));
    spread = tf
      .slice(grid.reshape([outer, g.out[a]! * s, inner]), [0, 0, 0], [outer, spreadShape[a + 1]!, inner])
      .reshape(spreadShape);
  });
  const ext = extent(g);
  return tf.pad(spread, [
    [0, 0],
    ...offset.map((o, a): [number, number] => [o, ext[a]! - o - spread.shape[a + 1]!]),
    [0, 0],
  ]);
}

/** From the padded extent back to the input's cells (the padding's gradient is dropped). */
function toInput(padded: tf.Tensor, g: PoolGeometry): tf.Tensor {
  const ext = extent(g);
  const grown = tf.pad(padded, [
    [0, 0],
    ...g.input.map((n, a): [number, number] => [0, Math.max(0, g.before[a]! + n - ext[a]!)]),
    [0, 0],
  ]);
  return tf.slice(grown, [0, ...g.before, 0], [padded.shape[0]!, ...g.input, padded.shape.at(-1)!]);
}

/** Max pooling: the largest cell of each window (padding never wins). */
export function maxPool(x: tf.Tensor, g: PoolGeometry): tf.Tensor {
  return tf.tidy(() => {
    const padded = padToExtent(x, g, -Infinity);
    return offsets(g.window)
      .map((o) => tap(padded, g, o))
      .reduce((a, b) => tf.maximum(a, b));
  });
}

/** Windows that tile the input without overlap or padding (stride = window, e.g. LeNet's 2×2 pools). */
function tiles(g: PoolGeometry): boolean {
  return (
    g.strides.every((s, a) => s === g.window[a]) &&
    g.before.every((b) => b === 0) &&
    g.out.every((o, a) => o * g.strides[a]! <= g.input[a]!)
  );
}

/**
 * Max-pooling gradient for tiling windows without strided slices (slow on wasm): the input regrouped as
 * [batch, ...out, channels, window cells], argMax picks each window's first maximum, and a one-hot of it carries ∂L/∂y back.
 */
function tiledMaxPoolGrad(dy: tf.Tensor, x: tf.Tensor, g: PoolGeometry): tf.Tensor {
  return tf.tidy(() => {
    const [batch, channels] = [x.shape[0]!, x.shape.at(-1)!];
    const rank = g.window.length;
    const coveredShape = [batch, ...g.out.map((o, a) => o * g.window[a]!), channels];
    // A slice or pad that changes nothing still copies on wasm.
    const whole = coveredShape.every((n, a) => n === x.shape[a]);
    const covered = whole
      ? x
      : tf.slice(
          x,
          x.shape.map(() => 0),
          coveredShape,
        );
    // [batch, o1, k1, o2, k2, (o3, k3,) channels] -> [batch, o1, o2, (o3,) channels, k1, k2, (k3)]
    const split = covered.reshape([batch, ...g.out.flatMap((o, a) => [o, g.window[a]!]), channels]);
    const toWindows = [0, ...g.out.map((_, a) => 1 + 2 * a), 1 + 2 * rank, ...g.window.map((_, a) => 2 + 2 * a)];
    const cells = g.window.reduce((p, q) => p * q, 1);
    const grouped = tf.transpose(split, toWindows).reshape([batch, ...g.out, channels, cells]);
    const hit = tf.oneHot(tf.argMax(grouped, -1), cells).toFloat();
    const routed = tf.mul(hit, tf.expandDims(dy, -1)).reshape([batch, ...g.out, channels, ...g.window]);
    const back = toWindows.map((_, k) => toWindows.indexOf(k));
    const full = tf.transpose(routed, back).reshape(covered.shape);
    return whole
      ? full
      : tf.pad(full, [[0, 0], ...g.input.map((n, a): [number, number] => [0, n - full.shape[a + 1]!]), [0, 0]]);
  });
}

/**
 * tiledMaxPoolGrad for 2-D windows with only rank-4 and rank-3 transposes, which tfjs-wasm runs ~5× faster than the
 * rank-6 one (0.4 against 3.9 ms for a [64, 32, 32, 16] input), and the routing multiply broadcast over a middle
 * axis rather than the innermost (1.0 against 3.6 ms). Same cells, same values as the general form.
 */
function tiledMaxPoolGrad2d(dy: tf.Tensor, x: tf.Tensor, g: PoolGeometry): tf.Tensor {
  return tf.tidy(() => {
    const [batch, channels] = [x.shape[0]!, x.shape.at(-1)!];
    const [o1, o2] = g.out as [number, number];
    const [k1, k2] = g.window as [number, number];
    const coveredShape = [batch, o1 * k1, o2 * k2, channels];
    const whole = coveredShape.every((n, a) => n === x.shape[a]);
    const covered = whole ? x : tf.slice(x, [0, 0, 0, 0], coveredShape);
    // [batch·o1, k1, o2, k2·c] -> [batch·o1, o2, k1, k2·c], i.e. [windows, cells, c]; then cells innermost.
    const windows = batch * o1 * o2;
    const byWindow = tf.transpose(covered.reshape([batch * o1, k1, o2, k2 * channels]), [0, 2, 1, 3]);
    const cellsLast = tf.transpose(byWindow.reshape([windows, k1 * k2, channels]), [0, 2, 1]);
    const hit = tf.oneHot(tf.argMax(cellsLast, -1), k1 * k2).toFloat();
    const routed = tf.mul(tf.transpose(hit, [0, 2, 1]), dy.reshape([windows, 1, channels]));
    const full = tf.transpose(routed.reshape([batch * o1, o2, k1, k2 * channels]), [0, 2, 1, 3]).reshape(coveredShape);
    return whole
      ? full
      : tf.pad(full, [[0, 0], ...g.input.map((n, a): [number, number] => [0, n - full.shape[a + 1]!]), [0, 0]]);
  });
}

/** ∂L/∂x of a max pooling: each window's gradient goes to its first maximal cell. */
export function maxPoolGrad(dy: tf.Tensor, x: tf.Tensor, y: tf.Tensor, g: PoolGeometry): tf.Tensor {
  if (tiles(g)) return g.window.length === 2 ? tiledMaxPoolGrad2d(dy, x, g) : tiledMaxPoolGrad(dy, x, g);
  return tf.tidy(() => {
    const padded = padToExtent(x, g, -Infinity);
    let unclaimed = tf.onesLike(y);
    let total: tf.Tensor | undefined;
    for (const offset of offsets(g.window)) {
      const hit = tf.mul(tf.cast(tf.equal(tap(padded, g, offset), y), "float32"), unclaimed);
      unclaimed = tf.sub(unclaimed, hit);
      const part = untap(tf.mul(hit, dy), g, offset);
      total = total === undefined ? part : tf.add(total, part);
    }
    return toInput(total!, g);
  });
}

/** ∂L/∂x of an average pooling whose windows average the input cells they cover (not the padding). */
export function avgPoolGrad(dy: tf.Tensor, x: tf.Tensor, g: PoolGeometry): tf.Tensor {
  return tf.tidy(() => {
    const ones = padToExtent(tf.ones([1, ...g.input, 1]), g, 0);
    const taps = offsets(g.window);
    const cells = taps.map((o) => tap(ones, g, o)).reduce((a, b) => tf.add(a, b));
    const share = tf.div(dy, cells);
    const total = taps.map((o) => untap(share, g, o)).reduce((a, b) => tf.add(a, b));
    return toInput(total, g).reshape(x.shape);
  });
}

interface PoolAttrs {
  filterSize: number | number[];
  strides: number | number[];
  pad: Pad;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

function geometryOf(input: tf.Tensor, attrs: PoolAttrs): PoolGeometry {
  return input.rank === 5
    ? geometry3d(
        input.shape,
        attrs.filterSize as never,
        attrs.strides as never,
        attrs.pad as never,
        attrs.dimRoundingMode,
      )
    : geometry2d(input.shape, attrs.filterSize as never, attrs.strides as never, attrs.pad, attrs.dimRoundingMode);
}

const maxPool3dConfig: tf.KernelConfig = {
  kernelName: "MaxPool3D",
  backendName: "wasm",
  kernelFunc: ({ inputs, attrs }) => {
    const x = asTensor(inputs.x!);
    return maxPool(x, geometryOf(x, attrs as unknown as PoolAttrs));
  },
};

function maxKernel(kernelName: string, backendName: string): tf.KernelConfig {
  return {
    kernelName,
    backendName,
    kernelFunc: ({ inputs, attrs }) => {
      const input = asTensor(inputs.input!);
      return maxPoolGrad(
        asTensor(inputs.dy!),
        input,
        asTensor(inputs.output!),
        geometryOf(input, attrs as unknown as PoolAttrs),
      );
    },
  };
}

function avgKernel(kernelName: string, backendName: string): tf.KernelConfig {
  return {
    kernelName,
    backendName,
    kernelFunc: ({ inputs, attrs }) => {
      const input = asTensor(inputs.input!);
      return avgPoolGrad(asTensor(inputs.dy!), input, geometryOf(input, attrs as unknown as PoolAttrs));
    },
  };
}

/** The pooling kernels to use on `backendName` in place of TF.js's. */
export function poolingKernels(backendName: "wasm" | "cpu"): tf.KernelConfig[] {
  const average = [avgKernel("AvgPoolGrad", backendName), avgKernel("AvgPool3DGrad", backendName)];
  return backendName === "wasm"
    ? [maxKernel("MaxPoolGrad", "wasm"), maxPool3dConfig, maxKernel("MaxPool3DGrad", "wasm"), ...average]
    : average;
}
