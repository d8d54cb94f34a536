import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { sliceRows } from "../../../src/worker/learn/batches.js";
import { on, values } from "./compare.js";

/** The slice on wasm (ours, or TF.js's for a slice that is not contiguous) and on cpu (TF.js's reference). */
async function bothBackends(
  shape: number[],
  dtype: "float32" | "int32",
  begin: number[],
  size: number[],
): Promise<{ wasm: tf.TypedArray; cpu: tf.TypedArray; wasmShape: number[]; cpuShape: number[] }> {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === "int32" ? Int32Array.from(values(7, n), (v) => Math.round(v * 1000)) : values(7, n);
  const run = () =>
    tf.tidy(() => {
      const out = tf.slice(tf.tensor(data, shape, dtype), begin, size);
      return { values: out.dataSync(), shape: out.shape };
    });
  const wasm = await on("wasm", run);
  const cpu = await on("cpu", run);
  return { wasm: wasm.values, cpu: cpu.values, wasmShape: wasm.shape, cpuShape: cpu.shape };
}

describe("wasm Slice (ours replaces wasm's, which copied its whole input for every slice)", function () {
  after(async () => {
    await on("cpu", () => undefined);
  });

  const cases: Array<{ name: string; shape: number[]; dtype: "float32" | "int32"; begin: number[]; size: number[] }> = [
    { name: "rows of a matrix", shape: [50, 7], dtype: "float32", begin: [13], size: [9] },
    { name: "rows to the end (size -1)", shape: [50, 7], dtype: "float32", begin: [41], size: [-1] },
    { name: "rows of images", shape: [6, 5, 4, 3], dtype: "float32", begin: [2, 0, 0, 0], size: [3, -1, -1, -1] },
    { name: "rows of int32 labels", shape: [40], dtype: "int32", begin: [5], size: [20] },
    { name: "part of one row (contiguous)", shape: [9, 8], dtype: "float32", begin: [4, 2], size: [1, 5] },
    {
      name: "a block of columns (not contiguous: TF.js's kernel)",
      shape: [10, 8],
      dtype: "float32",
      begin: [2, 3],
      size: [5, 4],
    },
    { name: "an empty slice", shape: [10, 3], dtype: "float32", begin: [4], size: [0] },
  ];
  for (const c of cases) {
    it(`equals the cpu backend's: ${c.name}`, async () => {
      const { wasm, cpu, wasmShape, cpuShape } = await bothBackends(c.shape, c.dtype, c.begin, c.size);
      assert.deepEqual(wasmShape, cpuShape);
      assert.equal(wasm.constructor, cpu.constructor, "same dtype");
      assert.deepEqual(Array.from(wasm), Array.from(cpu));
    });
  }

  it("reads no more of its input than the rows it cuts (batches of a large split cost their own size)", async () => {
    await on("wasm", () => undefined);
    const backend = tf.backend() as BackendWasm;
    const rows = 20000;
    const width = 64;
    const x = tf.tensor2d(values(3, rows * width), [rows, width]);
    const original = backend.readSync.bind(backend);
    let readOfX = 0;
    backend.readSync = (dataId, start, end) => {
      if (dataId === x.dataId) readOfX += (end ?? rows * width) - (start ?? 0);
      return original(dataId, start, end);
    };
    const batch = 256;
    const batches = 40;
    try {
      for (let b = 0; b < batches; b++) {
        const part = sliceRows(x, b * batch, (b + 1) * batch);
        assert.deepEqual(part.shape, [batch, width]);
        assert.equal((part.dataSync() as Float32Array)[0], values(3, rows * width)[b * batch * width]);
        part.dispose();
      }
    } finally {
      backend.readSync = original;
      x.dispose();
    }
    // TF.js 4.22's own kernel read all 20,000 rows for every batch: 40 × 1,280,000 elements.
    assert.ok(readOfX <= batches * batch * width, `${readOfX} elements of the input read for ${batches} batches`);
  });
});
