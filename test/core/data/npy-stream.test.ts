import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { toFloat32 } from "../../../src/core/convert.js";
import { parseNpy } from "../../../src/core/data/npy.js";
import { readNpyAsFloat32 } from "../../../src/core/data/npy-stream.js";
import { loadDataset } from "../../../src/core/data/load.js";
import { NUMPY_FIXTURES, bytesOf, npyBytes, rejectsWith, tempDir, writeIn } from "./helpers.js";

describe("npy reader in pieces (features of an x.npy)", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it("gives the same float32 values as reading the file whole, for NumPy's files and every dtype and version", async () => {
    for (const name of ["x", "y", "bool", "int16", "uint32", "float16"]) {
      const path = join(NUMPY_FIXTURES, `${name}.npy`);
      const whole = parseNpy(new Uint8Array(readFileSync(path)), path);
      const pieces = await readNpyAsFloat32(path);
      assert.deepEqual(pieces.shape, whole.shape, name);
      assert.deepEqual(Array.from(pieces.values), Array.from(toFloat32(whole.data, whole.dtype)), name);
    }
    const arrays: [string, ArrayBufferView][] = [
      ["<f8", new Float64Array([1e300, -0.25, 3])],
      ["<i8", new BigInt64Array([-5n, 1n << 40n, 0n])],
      ["|i1", new Int8Array([-128, 127, 0])],
      ["<u2", new Uint16Array([0, 65535, 7])],
    ];
    for (const version of [1, 2, 3] as const)
      for (const [descr, data] of arrays) {
        const path = await writeIn(
          dir,
          `a${version}${descr.slice(1)}.npy`,
          npyBytes(descr, [3], bytesOf(data), { version }),
        );
        const whole = parseNpy(new Uint8Array(readFileSync(path)), path);
        assert.deepEqual(
          Array.from((await readNpyAsFloat32(path)).values),
          Array.from(toFloat32(whole.data, whole.dtype)),
          `${descr} v${version}`,
        );
      }
  });

  it("converts arrays larger than one piece (16 MiB) piece by piece, each value in its place", async () => {
    const n = 2_500_000; // 20 MB of float64: two pieces
    const values = Float64Array.from({ length: n }, (_, i) => i * 0.5 - 7);
    const path = await writeIn(dir, "x.npy", npyBytes("<f8", [n / 10, 10], bytesOf(values)));
    const read = await readNpyAsFloat32(path);
    assert.deepEqual(read.shape, [n / 10, 10]);
    assert.equal(read.values.length, n);
    for (const i of [0, 1, 2_097_151, 2_097_152, 2_097_153, n - 1])
      assert.equal(read.values[i], Math.fround(i * 0.5 - 7));
  });

  it("refuses damaged files with the same messages as the whole-file reader, before allocating", async () => {
    const whole = npyBytes("<f4", [100, 10], new Uint8Array(4000));
    const cut = await writeIn(dir, "cut.npy", whole.subarray(0, whole.length - 1));
    await rejectsWith(() => readNpyAsFloat32(cut), `${cut}: `, "needs 4000 data bytes but only 3999 follow");
    const header = await writeIn(dir, "h.npy", whole.subarray(0, 40));
    await rejectsWith(() => readNpyAsFloat32(header), /header claims \d+ bytes but the file has 40 bytes/);
    const huge = await writeIn(dir, "huge.npy", npyBytes("<f8", [1e9, 1e9], new Uint8Array(8)));
    await rejectsWith(() => readNpyAsFloat32(huge), "needs 8000000000000000000 data bytes but only 8 follow");
    const empty = await writeIn(dir, "e.npy", new Uint8Array());
    await rejectsWith(() => readNpyAsFloat32(empty), `${empty}: the file is empty`);
    await rejectsWith(() => readNpyAsFloat32(join(dir, "missing.npy")), "missing.npy", "ENOENT");
  });

  it("is what the x.npy / y.npy loader reads: features scaled in place, labels from y.npy", async () => {
    const x = await writeIn(dir, "x.npy", npyBytes("<f8", [3, 2], bytesOf(new Float64Array([0, 16, 8, 4, 2, 1]))));
    await writeIn(dir, "y.npy", npyBytes("<i8", [3], bytesOf(new BigInt64Array([1n, 0n, 1n]))));
    const d = await loadDataset(x, { scale: 0.0625 });
    assert.deepEqual(d.xShape, [3, 2]);
    assert.deepEqual(Array.from(d.x), [0, 1, 0.5, 0.25, 0.125, 0.0625]);
    assert.deepEqual(Array.from(d.y!), [1, 0, 1]);
    // The file is never modified by the scaling (the features are a fresh array).
    assert.deepEqual(
      Array.from(parseNpy(new Uint8Array(readFileSync(x)), x).data as Float64Array),
      [0, 16, 8, 4, 2, 1],
    );
  });
});
