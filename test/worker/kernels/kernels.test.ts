import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  conv2dBackpropFilter,
  conv2dBackpropFilterConfig,
} from "../../../src/worker/kernels/conv2d-backprop-filter.js";
import { sumOverLeadingAxes } from "../../../src/worker/kernels/leading-sum.js";
import { BACKEND_TOLERANCE, centralDifferences, distinctTensor, on, randomTensor, relativeError } from "./compare.js";

type Attrs = Record<string, unknown>;

/** One kernel on both backends with the same inputs: wasm runs ours, cpu runs TF.js's reference. */
async function bothBackends(
  kernel: string,
  inputs: Record<string, tf.Tensor>,
  attrs: Attrs,
): Promise<{ wasm: Float32Array; cpu: Float32Array; shape: number[] }> {
  const run = () => {
    const out = tf.engine().runKernel(kernel, inputs, attrs as never) as tf.Tensor;
    const result = { data: out.dataSync() as Float32Array, shape: out.shape };
    out.dispose();
    return result;
  };
  const wasm = await on("wasm", run);
  const cpu = await on("cpu", run);
  assert.deepEqual(wasm.shape, cpu.shape);
  return { wasm: wasm.data, cpu: cpu.data, shape: cpu.shape };
}

describe("wasm gradient kernels", function () {
  after(async () => {
    await on("cpu", () => undefined);
  });

  describe("Conv2DBackpropFilter equals the cpu backend's", function () {
    const cases: Array<{
      name: string;
      x: number[];
      filter: [number, number, number, number];
      strides: number | [number, number];
      pad: unknown;
      dataFormat?: "NHWC" | "NCHW";
      dimRoundingMode?: string;
    }> = [
      { name: "3×3 valid", x: [2, 7, 7, 3], filter: [3, 3, 3, 4], strides: 1, pad: "valid" },
      { name: "3×3 stride 2 same", x: [2, 7, 7, 3], filter: [3, 3, 3, 4], strides: 2, pad: "same" },
      {
        name: "5×5 same, one input channel (LeNet's first layer)",
        x: [3, 12, 12, 1],
        filter: [5, 5, 1, 6],
        strides: 1,
        pad: "same",
      },
      {
        name: "2×3 strides [2, 1] valid, odd sizes",
        x: [2, 9, 6, 2],
        filter: [2, 3, 2, 3],
        strides: [2, 1],
        pad: "valid",
      },
      {
        name: "explicit padding",
        x: [1, 6, 5, 2],
        filter: [3, 3, 2, 2],
        strides: 1,
        pad: [
          [0, 0],
          [1, 2],
          [0, 1],
          [0, 0],
        ],
      },
      {
        name: "numeric padding, stride 2, rounding floor",
        x: [2, 8, 8, 2],
        filter: [3, 3, 2, 2],
        strides: 2,
        pad: 1,
        dimRoundingMode: "floor",
      },
      {
        name: "1-D (Conv1D runs as a height-1 conv2d), stride 2 same",
        x: [2, 1, 11, 3],
        filter: [1, 4, 3, 5],
        strides: [1, 2],
        pad: "same",
      },
      {
        name: "1×1 (pointwise half of SeparableConv2D)",
        x: [2, 5, 5, 6],
        filter: [1, 1, 6, 4],
        strides: 1,
        pad: "valid",
      },
      { name: "NCHW", x: [2, 3, 7, 6], filter: [3, 3, 3, 2], strides: [1, 2], pad: "same", dataFormat: "NCHW" },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const x = randomTensor(1, c.x);
        const dataFormat = c.dataFormat ?? "NHWC";
        const attrs = {
          strides: c.strides,
          pad: c.pad,
          dataFormat,
          filterShape: c.filter,
          dimRoundingMode: c.dimRoundingMode,
        };
        // dy has the forward convolution's output shape.
        const info = tf.backend_util.computeConv2DInfo(
          c.x as never,
          c.filter,
          c.strides,
          1,
          c.pad as never,
          c.dimRoundingMode as never,
          false,
          dataFormat === "NHWC" ? "channelsLast" : "channelsFirst",
        );
        const dy = randomTensor(
          2,
          dataFormat === "NHWC" ? info.outShape : [info.batchSize, info.outChannels, info.outHeight, info.outWidth],
        );
        const { wasm, cpu, shape } = await bothBackends("Conv2DBackpropFilter", { x, dy }, attrs);
        assert.deepEqual(shape, c.filter);
        assert.ok(relativeError(wasm, cpu) < BACKEND_TOLERANCE, `relative error ${relativeError(wasm, cpu)}`);
        tf.dispose([x, dy]);
      });
    }
  });

  describe("Conv2DBackpropInput (ours replaces wasm's, 2–9× slower) equals the cpu backend's", function () {
    const cases: Array<{
      name: string;
      x: [number, number, number, number];
      filter: [number, number, number, number];
      strides: number | [number, number];
      pad: unknown;
      dataFormat?: "NHWC" | "NCHW";
    }> = [
      { name: "5×5 valid (LeNet's second layer)", x: [2, 14, 14, 6], filter: [5, 5, 6, 16], strides: 1, pad: "valid" },
      { name: "3×3 stride 2 same, odd size", x: [2, 7, 7, 3], filter: [3, 3, 3, 4], strides: 2, pad: "same" },
      {
        name: "2×3 strides [2, 1] valid, leftover rows",
        x: [1, 9, 6, 2],
        filter: [2, 3, 2, 3],
        strides: [2, 1],
        pad: "valid",
      },
      {
        name: "explicit padding",
        x: [1, 6, 5, 2],
        filter: [3, 3, 2, 2],
        strides: 1,
        pad: [
          [0, 0],
          [1, 2],
          [0, 1],
          [0, 0],
        ],
      },
      { name: "NCHW", x: [2, 3, 7, 6], filter: [3, 3, 3, 2], strides: [1, 2], pad: "same", dataFormat: "NCHW" },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const dataFormat = c.dataFormat ?? "NHWC";
        const info = tf.backend_util.computeConv2DInfo(
          c.x,
          c.filter,
          c.strides,
          1,
          c.pad as never,
          undefined,
          false,
          dataFormat === "NHWC" ? "channelsLast" : "channelsFirst",
        );
        const dy = randomTensor(
          40,
          dataFormat === "NHWC" ? info.outShape : [info.batchSize, info.outChannels, info.outHeight, info.outWidth],
        );
        const filter = randomTensor(41, c.filter);
        const { wasm, cpu, shape } = await bothBackends(
          "Conv2DBackpropInput",
          { dy, filter },
          { strides: c.strides, pad: c.pad, dataFormat, inputShape: c.x },
        );
        assert.deepEqual(shape, c.x);
        assert.ok(relativeError(wasm, cpu) < BACKEND_TOLERANCE, `relative error ${relativeError(wasm, cpu)}`);
        tf.dispose([dy, filter]);
      });
    }
  });

  describe("DepthwiseConv2dNative backprop (filter and input) equals the cpu backend's", function () {
    const cases: Array<{
      name: string;
      x: [number, number, number, number];
      filter: [number, number, number, number];
      strides: number | [number, number];
      pad: unknown;
      dilations?: number | [number, number];
    }> = [
      { name: "3×3 valid, multiplier 1", x: [2, 7, 7, 3], filter: [3, 3, 3, 1], strides: 1, pad: "valid" },
      { name: "3×3 same, multiplier 2", x: [2, 6, 6, 3], filter: [3, 3, 3, 2], strides: 1, pad: "same" },
      {
        name: "3×3 stride 2 same (MobileNet's downsampling)",
        x: [2, 7, 7, 4],
        filter: [3, 3, 4, 1],
        strides: 2,
        pad: "same",
      },
      {
        name: "2×3 strides [2, 1] valid, multiplier 3",
        x: [1, 8, 7, 2],
        filter: [2, 3, 2, 3],
        strides: [2, 1],
        pad: "valid",
      },
      {
        name: "explicit padding",
        x: [1, 5, 6, 2],
        filter: [3, 2, 2, 2],
        strides: 1,
        pad: [
          [0, 0],
          [2, 1],
          [1, 0],
          [0, 0],
        ],
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const dilations = c.dilations ?? 1;
        const info = tf.backend_util.computeConv2DInfo(
          c.x,
          c.filter,
          c.strides,
          dilations,
          c.pad as never,
          undefined,
          true,
        );
        const x = randomTensor(3, c.x);
        const filter = randomTensor(4, c.filter);
        const dy = randomTensor(5, info.outShape);
        const common = { strides: c.strides, pad: c.pad, dilations };
        const byFilter = await bothBackends(
          "DepthwiseConv2dNativeBackpropFilter",
          { x, dy },
          { ...common, filterShape: c.filter },
        );
        assert.deepEqual(byFilter.shape, c.filter);
        assert.ok(
          relativeError(byFilter.wasm, byFilter.cpu) < BACKEND_TOLERANCE,
          `filter: relative error ${relativeError(byFilter.wasm, byFilter.cpu)}`,
        );
        const byInput = await bothBackends(
          "DepthwiseConv2dNativeBackpropInput",
          { dy, filter },
          { ...common, inputShape: c.x },
        );
        assert.deepEqual(byInput.shape, c.x);
        assert.ok(
          relativeError(byInput.wasm, byInput.cpu) < BACKEND_TOLERANCE,
          `input: relative error ${relativeError(byInput.wasm, byInput.cpu)}`,
        );
        tf.dispose([x, filter, dy]);
      });
    }
  });

  it("Depthwise backprop with dilation 2 equals cpu's on the equivalent zero-interleaved 5×5 filter", async () => {
    // TF.js's own gradients refuse dilations and its cpu kernels ignore them; a 3×3 filter with dilation 2 is
    // the 5×5 filter with zeros between its taps, which the cpu kernels handle.
    const xShape: [number, number, number, number] = [1, 9, 8, 2];
    const x = randomTensor(17, xShape);
    const filter = randomTensor(18, [3, 3, 2, 2]);
    const spread = tf.tidy(() => {
      const rows = tf.stack([
        filter.gather(0),
        tf.zerosLike(filter.gather(0)),
        filter.gather(1),
        tf.zerosLike(filter.gather(0)),
        filter.gather(2),
      ]);
      const r = rows.transpose([1, 0, 2, 3]);
      return tf
        .stack([r.gather(0), tf.zerosLike(r.gather(0)), r.gather(1), tf.zerosLike(r.gather(0)), r.gather(2)])
        .transpose([1, 0, 2, 3]);
    });
    const info = tf.backend_util.computeConv2DInfo(xShape, [3, 3, 2, 2], 1, 2, "same", undefined, true);
    const dy = randomTensor(19, info.outShape);
    const run = (kernel: string, inputs: Record<string, tf.Tensor>, attrs: Attrs) =>
      (tf.engine().runKernel(kernel, inputs, attrs as never) as tf.Tensor).dataSync();
    const ours = await on("wasm", () => ({
      filter: run(
        "DepthwiseConv2dNativeBackpropFilter",
        { x, dy },
        { strides: 1, pad: "same", dilations: 2, filterShape: [3, 3, 2, 2] },
      ),
      input: run(
        "DepthwiseConv2dNativeBackpropInput",
        { dy, filter },
        { strides: 1, pad: "same", dilations: 2, inputShape: xShape },
      ),
    }));
    const reference = await on("cpu", () => ({
      filter: tf.tidy(() => {
        const full = tf.tensor(
          run(
            "DepthwiseConv2dNativeBackpropFilter",
            { x, dy },
            { strides: 1, pad: "same", dilations: 1, filterShape: [5, 5, 2, 2] },
          ),
          [5, 5, 2, 2],
        );
        return tf.stridedSlice(full, [0, 0, 0, 0], [5, 5, 2, 2], [2, 2, 1, 1]).dataSync();
      }),
      input: run(
        "DepthwiseConv2dNativeBackpropInput",
        { dy, filter: spread },
        { strides: 1, pad: "same", dilations: 1, inputShape: xShape },
      ),
    }));
    assert.ok(
      relativeError(ours.filter, reference.filter) < BACKEND_TOLERANCE,
      `filter: ${relativeError(ours.filter, reference.filter)}`,
    );
    assert.ok(
      relativeError(ours.input, reference.input) < BACKEND_TOLERANCE,
      `input: ${relativeError(ours.input, reference.input)}`,
    );
    tf.dispose([x, filter, spread, dy]);
  });

  describe("UnsortedSegmentSum equals the cpu backend's", function () {
    it("float rows into segments, repeated and missing ids", async () => {
      const x = randomTensor(6, [7, 2, 3]);
      const segmentIds = tf.tensor1d([0, 4, 4, 2, 0, 4, 1], "int32");
      const { wasm, cpu, shape } = await bothBackends("UnsortedSegmentSum", { x, segmentIds }, { numSegments: 6 });
      assert.deepEqual(shape, [6, 2, 3]);
      assert.ok(relativeError(wasm, cpu) < BACKEND_TOLERANCE);
      // Segments 3 and 5 receive no row.
      assert.deepEqual(Array.from(wasm.subarray(3 * 6, 4 * 6)), [0, 0, 0, 0, 0, 0]);
      tf.dispose([x, segmentIds]);
    });
    it("int32 rows", async () => {
      const x = tf.tensor2d(
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        [3, 2],
        "int32",
      );
      const segmentIds = tf.tensor1d([1, 1, 0], "int32");
      const { wasm, cpu } = await bothBackends("UnsortedSegmentSum", { x, segmentIds }, { numSegments: 2 });
      assert.deepEqual(Array.from(wasm), Array.from(cpu));
      assert.deepEqual(Array.from(wasm), [5, 6, 4, 6]);
      tf.dispose([x, segmentIds]);
    });
  });

  describe("BatchMatMul with transposes (ours transposes first on wasm) equals the cpu backend's", function () {
    // Each case says which of our two orders it takes: the product of the transposed operands ("direct"), or the
    // transpose of the product in the other order ("swapped"), whichever copies fewer elements.
    const cases: Array<{ name: string; a: number[]; b: number[]; transposeA: boolean; transposeB: boolean }> = [
      { name: "aᵀ·b (direct)", a: [5, 7], b: [5, 3], transposeA: true, transposeB: false },
      { name: "a·bᵀ (swapped)", a: [2, 5], b: [9, 5], transposeA: false, transposeB: true },
      { name: "aᵀ·bᵀ (swapped)", a: [5, 3], b: [4, 5], transposeA: true, transposeB: true },
      {
        name: "batched, broadcast batch axes, aᵀ·b (direct)",
        a: [2, 1, 5, 3],
        b: [3, 5, 4],
        transposeA: true,
        transposeB: false,
      },
      { name: "batched a·bᵀ (swapped)", a: [3, 2, 5], b: [3, 6, 5], transposeA: false, transposeB: true },
      {
        name: "the CNN's Dense gradient shape xᵀ·dy (direct)",
        a: [64, 96],
        b: [64, 40],
        transposeA: true,
        transposeB: false,
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const a = randomTensor(21, c.a);
        const b = randomTensor(22, c.b);
        const attrs = { transposeA: c.transposeA, transposeB: c.transposeB };
        const { wasm, cpu, shape } = await bothBackends("BatchMatMul", { a, b }, attrs);
        const expected = tf.tidy(() => tf.matMul(a, b, c.transposeA, c.transposeB).shape);
        assert.deepEqual(shape, expected);
        assert.ok(relativeError(wasm, cpu) < BACKEND_TOLERANCE, `relative error ${relativeError(wasm, cpu)}`);
        tf.dispose([a, b]);
      });
    }
  });

  describe("sumOverLeadingAxes (one average pooling on wasm) equals tf.sum on cpu", function () {
    for (const shape of [
      [64, 32, 32, 16],
      [3, 5, 4, 6],
      [7, 5],
      [1, 1, 9, 2],
    ]) {
      it(`shape [${shape.join(", ")}]`, async () => {
        const t = randomTensor(51, shape);
        const ours = await on("wasm", () => sumOverLeadingAxes(t));
        assert.deepEqual(ours.shape, [shape.at(-1)]);
        const values = ours.dataSync();
        ours.dispose();
        const { sums, magnitudes } = await on("cpu", () =>
          tf.tidy(() => {
            const axes = shape.slice(0, -1).map((_, a) => a);
            return { sums: tf.sum(t, axes).dataSync(), magnitudes: tf.sum(tf.abs(t), axes).dataSync() };
          }),
        );
        // Another summation order: within float32 rounding of the terms' magnitudes, far below one misplaced term.
        values.forEach((v, c) =>
          assert.ok(Math.abs(v - sums[c]!) <= 1e-6 * magnitudes[c]!, `channel ${c}: ${v} vs ${sums[c]}`),
        );
        t.dispose();
      });
    }
  });

  describe("FusedBatchNorm (ours on wasm: x·a + b per channel) equals the cpu backend's", function () {
    const cases: Array<{ name: string; x: number[]; stats: number[]; scale: boolean; offset: boolean }> = [
      { name: "per channel, scale and offset", x: [3, 5, 4, 6], stats: [6], scale: true, offset: true },
      { name: "per channel, no scale", x: [2, 3, 3, 4], stats: [4], scale: false, offset: true },
      { name: "per channel, no offset, rank 2", x: [7, 5], stats: [5], scale: true, offset: false },
      {
        name: "statistics of the input's shape (TF.js's kernel)",
        x: [2, 3, 3, 4],
        stats: [2, 3, 3, 4],
        scale: true,
        offset: true,
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const x = randomTensor(31, c.x);
        const mean = randomTensor(32, c.stats);
        const variance = tf.tidy(() => tf.add(tf.abs(randomTensor(33, c.stats)), 0.1));
        const inputs: Record<string, tf.Tensor> = { x, mean, variance };
        if (c.scale) inputs.scale = randomTensor(34, c.stats);
        if (c.offset) inputs.offset = randomTensor(35, c.stats);
        const { wasm, cpu, shape } = await bothBackends("FusedBatchNorm", inputs, { varianceEpsilon: 1e-3 });
        assert.deepEqual(shape, c.x);
        assert.ok(relativeError(wasm, cpu) < BACKEND_TOLERANCE, `relative error ${relativeError(wasm, cpu)}`);
        tf.dispose(Object.values(inputs));
      });
    }
  });

  describe("pooling kernels agree with central differences on wasm and on cpu", function () {
    // TF.js 4.22 gets these wrong: wasm's MaxPoolGrad/MaxPool3DGrad everywhere, every backend's average-pooling
    // gradient with 'same' padding (it divides by the whole window, the forward pass by the cells inside).
    const pools: Array<{ name: string; shape: number[]; f: (t: tf.Tensor) => tf.Tensor }> = [
      { name: "maxPool 2×2 stride 2", shape: [2, 6, 6, 2], f: (t) => tf.maxPool(t as tf.Tensor4D, 2, 2, "valid") },
      {
        name: "maxPool 2×2 stride 2 over odd sizes (the last row and column in no window)",
        shape: [2, 7, 5, 3],
        f: (t) => tf.maxPool(t as tf.Tensor4D, 2, 2, "valid"),
      },
      {
        name: "maxPool 3×2 windows, strides [3, 2]",
        shape: [1, 6, 4, 2],
        f: (t) => tf.maxPool(t as tf.Tensor4D, [3, 2], [3, 2], "valid"),
      },
      { name: "maxPool 3×3 stride 1 same", shape: [1, 5, 6, 2], f: (t) => tf.maxPool(t as tf.Tensor4D, 3, 1, "same") },
      {
        name: "maxPool 1-D (pool 2, stride 2 over a height-1 image)",
        shape: [2, 1, 7, 2],
        f: (t) => tf.maxPool(t as tf.Tensor4D, [1, 2], [1, 2], "valid"),
      },
      { name: "avgPool 2×2 stride 2", shape: [2, 6, 6, 2], f: (t) => tf.avgPool(t as tf.Tensor4D, 2, 2, "valid") },
      { name: "avgPool 3×3 stride 2 same", shape: [1, 7, 6, 2], f: (t) => tf.avgPool(t as tf.Tensor4D, 3, 2, "same") },
      { name: "maxPool3d 2 stride 2", shape: [1, 4, 4, 4, 2], f: (t) => tf.maxPool3d(t as tf.Tensor5D, 2, 2, "valid") },
      {
        name: "maxPool3d 3 stride 1 same",
        shape: [1, 3, 4, 4, 2],
        f: (t) => tf.maxPool3d(t as tf.Tensor5D, 3, 1, "same"),
      },
      {
        name: "avgPool3d 3 stride 2 same",
        shape: [1, 4, 5, 4, 2],
        f: (t) => tf.avgPool3d(t as tf.Tensor5D, 3, 2, "same"),
      },
      {
        name: "resizeNearestNeighbor ×2 (UpSampling2D), batch 2",
        shape: [2, 3, 4, 2],
        f: (t) => tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [6, 8]),
      },
    ];
    for (const p of pools) {
      it(p.name, async () => {
        const x = distinctTensor(30, p.shape);
        const loss = (t: tf.Tensor) =>
          tf.tidy(() => {
            const y = p.f(t);
            return tf.sum(tf.mul(tf.tanh(y), randomTensor(31, y.shape))) as tf.Scalar;
          });
        for (const backend of ["wasm", "cpu"] as const) {
          await on(backend, () => {
            const analytic = tf.grad(loss)(x).dataSync();
            const numeric = centralDifferences(loss, x, 1e-3);
            assert.ok(
              relativeError(analytic, numeric) < 2e-3,
              `${backend}: relative error ${relativeError(analytic, numeric)}`,
            );
          });
        }
        // The forward pass too (wasm's own MaxPool3D is wrong on [1, 4, 4, 4, 2]).
        const forward = () => p.f(x).dataSync();
        assert.ok(relativeError(await on("wasm", forward), await on("cpu", forward)) < BACKEND_TOLERANCE);
        x.dispose();
      });
    }
  });

  it("MaxPoolGrad on wasm equals cpu's where windows hold ties (the first maximal cell gets the gradient)", async () => {
    // Rounded ReLU outputs: many windows of equal values, as after a ReLU that zeroed a whole window.
    const input = tf.tidy(() => tf.relu(tf.round(tf.mul(randomTensor(41, [2, 8, 6, 3]), 2))));
    const output = tf.maxPool(input as tf.Tensor4D, 2, 2, "valid");
    const dy = randomTensor(42, output.shape);
    const { wasm, cpu } = await bothBackends(
      "MaxPoolGrad",
      { dy, input, output },
      { filterSize: 2, strides: 2, pad: "valid" },
    );
    // + 0 turns −0 (a zero routing weight times a negative ∂L/∂y) into 0, as cpu writes it.
    assert.deepEqual(
      Array.from(wasm, (v) => v + 0),
      Array.from(cpu, (v) => v + 0),
    );
    tf.dispose([input, output, dy]);
  });

  it("MaxPool3D on wasm equals cpu's on the shapes where TF.js's own wasm kernel is wrong", async () => {
    for (const [shape, size, stride, pad] of [
      [[1, 4, 4, 4, 2], 2, 2, "valid"],
      [[1, 2, 3, 4, 2], 2, 1, "same"],
    ] as const) {
      const x = randomTensor(1, [...shape]);
      const forward = () => tf.maxPool3d(x as tf.Tensor5D, size, stride, pad).dataSync();
      assert.equal(relativeError(await on("wasm", forward), await on("cpu", forward)), 0, `shape ${shape}`);
      x.dispose();
    }
  });

  it("a learning step's gradients on wasm leave no tensor behind", async () => {
    await on("wasm", () => {
      const x = randomTensor(50, [2, 8, 8, 2]);
      const ids = tf.tensor1d([1, 3, 1], "int32");
      const w = tf.variable(randomTensor(51, [3, 3, 2, 4]));
      const d = tf.variable(randomTensor(52, [3, 3, 4, 2]));
      const table = tf.variable(randomTensor(53, [5, 4]));
      const step = () =>
        tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => {
            const conv = tf.relu(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same"));
            const deep = tf.depthwiseConv2d(tf.maxPool(conv, 2, 2, "valid"), d as tf.Tensor4D, 1, "same");
            const pooled = tf.avgPool(deep as tf.Tensor4D, 3, 1, "same");
            return tf.add(tf.sum(pooled), tf.sum(tf.gather(table, ids))) as tf.Scalar;
          }, [w, d, table]);
          Object.values(grads).forEach((g) => g.dataSync());
          value.dataSync();
        });
      step();
      const before = tf.memory();
      step();
      const after = tf.memory();
      assert.equal(after.numTensors, before.numTensors);
      assert.equal(after.numBytes, before.numBytes);
      tf.dispose([x, ids, w, d, table]);
    });
  });

  it("a kernel given bare TensorInfos (not tensors) leaves its inputs alive", async () => {
    await on("wasm", () => {
      const x = randomTensor(54, [1, 5, 5, 1]);
      const dy = randomTensor(55, [1, 3, 3, 2]);
      const bare = (t: tf.Tensor): tf.TensorInfo => ({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
      const attrs = { strides: 1, pad: "valid", dataFormat: "NHWC", filterShape: [3, 3, 1, 2] };
      const out = conv2dBackpropFilterConfig.kernelFunc({
        inputs: { x: bare(x), dy: bare(dy) },
        attrs: attrs as never,
        backend: tf.backend(),
      }) as tf.Tensor;
      const expected = conv2dBackpropFilter(x as tf.Tensor4D, dy as tf.Tensor4D, attrs as never);
      assert.deepEqual(Array.from(out.dataSync()), Array.from(expected.dataSync()));
      assert.equal(x.dataSync().length, 25, "the input is still readable");
      tf.dispose([x, dy, out, expected]);
    });
  });

  describe("gradients on wasm agree with central differences", function () {
    // Float32 losses of order 1 with step 1e-2: rounding error ~1e-5 and truncation error ~1e-4 per element.
    const FD_TOLERANCE = 2e-3;
    const EPS = 1e-2;

    async function check(name: string, loss: (t: tf.Tensor) => tf.Scalar, at: tf.Tensor): Promise<void> {
      await on("wasm", () => {
        const analytic = tf.grad(loss)(at).dataSync();
        const numeric = centralDifferences(loss, at, EPS);
        assert.ok(
          relativeError(analytic, numeric) < FD_TOLERANCE,
          `${name}: relative error ${relativeError(analytic, numeric)}`,
        );
      });
    }

    it("conv2d, with respect to the filter (stride 2, same)", async () => {
      const x = randomTensor(7, [2, 5, 5, 2]);
      const r = randomTensor(8, [2, 3, 3, 3]);
      await check(
        "conv2d filter",
        (w) => tf.sum(tf.mul(tf.tanh(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, "same")), r)) as tf.Scalar,
        randomTensor(9, [3, 3, 2, 3]),
      );
    });
    it("the kernel itself equals the cpu kernel on the LeNet first-layer shape", async () => {
      // conv2dBackpropFilter is also callable directly (no registry): same numbers as the registered kernel.
      const x = randomTensor(10, [2, 28, 28, 1]) as tf.Tensor4D;
      const dy = randomTensor(11, [2, 24, 24, 6]) as tf.Tensor4D;
      const attrs = {
        strides: 1,
        pad: "valid" as const,
        dataFormat: "NHWC" as const,
        filterShape: [5, 5, 1, 6] as [number, number, number, number],
      };
      const direct = await on("wasm", () => conv2dBackpropFilter(x, dy, attrs).dataSync());
      const { cpu } = await bothBackends("Conv2DBackpropFilter", { x, dy }, attrs);
      assert.ok(relativeError(direct, cpu) < BACKEND_TOLERANCE);
    });
    describe("batchNorm (our FusedBatchNorm gradient, without TF.js's tile), with respect to each input", function () {
      const x = randomTensor(30, [2, 3, 3, 4]);
      const mean = randomTensor(31, [4]);
      const variance = tf.add(tf.abs(randomTensor(32, [4])), 0.5);
      const scale = randomTensor(33, [4]);
      const offset = randomTensor(34, [4]);
      const r = randomTensor(35, [2, 3, 3, 4]);
      const args = { x, mean, variance, scale, offset };
      const lossOf = (name: keyof typeof args) => (t: tf.Tensor) => {
        const a = { ...args, [name]: t };
        return tf.sum(tf.mul(tf.tanh(tf.batchNorm(a.x, a.mean, a.variance, a.offset, a.scale, 1e-3)), r)) as tf.Scalar;
      };
      for (const name of Object.keys(args) as Array<keyof typeof args>) {
        it(name, async () => check(`batchNorm ${name}`, lossOf(name), args[name]));
      }
    });
    it("depthwiseConv2d, with respect to the filter and to the input (stride 2, same, multiplier 2)", async () => {
      const x = randomTensor(12, [1, 5, 5, 2]);
      const w = randomTensor(13, [3, 3, 2, 2]);
      const r = randomTensor(14, [1, 3, 3, 4]);
      const out = (a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.tanh(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, "same")), r)) as tf.Scalar;
      await check("depthwise filter", (t) => out(x, t), w);
      await check("depthwise input", (t) => out(t, w), x);
    });
    it("gather (Embedding), with respect to the table", async () => {
      const ids = tf.tensor1d([3, 0, 3, 2, 3], "int32");
      const r = randomTensor(15, [5, 3]);
      await check(
        "gather",
        (t) => tf.sum(tf.mul(tf.tanh(tf.gather(t, ids)), r)) as tf.Scalar,
        randomTensor(16, [4, 3]),
      );
    });
  });
});
