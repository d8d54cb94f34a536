import assert from "node:assert/strict";
import { loadDataset } from "../../../src/core/data/load.js";
import { readNpyAsFloat32 } from "../../../src/core/data/npy-stream.js";
import { sampleRowIndices } from "../../../src/core/data/row-sample.js";
import { bytesOf, npyBytes, tempDir, writeIn } from "./helpers.js";

describe("--max-rows: a seeded sample of the data's rows", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it("samples distinct rows in ascending order, the same for the same seed, others for another", () => {
    const a = sampleRowIndices(1_000_000, 5000, 0);
    assert.equal(a.length, 5000);
    for (let i = 1; i < a.length; i++) assert.ok(a[i]! > a[i - 1]!, "ascending and distinct");
    assert.ok(a[0]! >= 0 && a.at(-1)! < 1_000_000);
    assert.deepEqual(sampleRowIndices(1_000_000, 5000, 0), a);
    assert.notDeepEqual(sampleRowIndices(1_000_000, 5000, 1), a);
    // Spread over the file, not its start: about half the rows in each half.
    const firstHalf = a.filter((r) => r < 500_000).length;
    assert.ok(firstHalf > 2300 && firstHalf < 2700, `${firstHalf} of 5000 in the first half`);
    assert.deepEqual([...sampleRowIndices(4, 9, 0)], [0, 1, 2, 3]);
    assert.throws(() => sampleRowIndices(10, 0, 0), /--max-rows expects a whole number ≥ 1, not 0/);
  });

  it("reads only the chosen rows of an .npy, by offset, as the whole file's rows (float32 and float64)", async () => {
    const rows = 300;
    const width = 5;
    const values = Float64Array.from({ length: rows * width }, (_, i) => Math.sin(i) * 100);
    const chosen = Int32Array.from([0, 1, 2, 7, 8, 150, 298, 299]);
    for (const [descr, data] of [
      ["<f4", bytesOf(Float32Array.from(values))],
      ["<f8", bytesOf(values)],
    ] as const) {
      const path = await writeIn(dir, `x${descr.slice(1)}.npy`, npyBytes(descr, [rows, width], data));
      const whole = await readNpyAsFloat32(path);
      const some = await readNpyAsFloat32(path, (total) => (assert.equal(total, rows), chosen));
      assert.deepEqual(some.shape, [chosen.length, width]);
      const expected = Float32Array.from(
        [...chosen].flatMap((r) => [...whole.values.subarray(r * width, (r + 1) * width)]),
      );
      assert.deepEqual(some.values, expected, descr);
    }
  });

  it("an x.npy / y.npy pair never reads the rows left out (they hold NaN here), and its labels follow the rows", async () => {
    const rows = 2000;
    const keep = sampleRowIndices(rows, 100, 3);
    const kept = new Set(keep);
    const x = new Float32Array(rows * 2).map((_, i) => (kept.has(i >> 1) ? (i >> 1) + (i % 2) / 10 : Number.NaN));
    const y = BigInt64Array.from({ length: rows }, (_, r) => BigInt(r % 3));
    await writeIn(dir, "x.npy", npyBytes("<f4", [rows, 2], bytesOf(x)));
    await writeIn(dir, "y.npy", npyBytes("<i8", [rows], bytesOf(y)));
    const data = await loadDataset(`${dir}/x.npy`, { maxRows: 100, sampleSeed: 3 });
    assert.deepEqual(data.xShape, [100, 2]);
    assert.ok(data.x.every(Number.isFinite), "no left-out row was read");
    assert.deepEqual(
      [...data.x].filter((_, i) => i % 2 === 0),
      [...keep],
    );
    assert.deepEqual(
      [...data.y!],
      [...keep].map((r) => r % 3),
    );
    assert.match(
      data.sampleNote ?? "",
      /x\.npy: a seeded sample of 100 of its 2,000 rows \(--max-rows 100, seed 3\), read by offset/,
    );
    // Fewer rows than --max-rows: all of them, no note.
    const all = await loadDataset(`${dir}/x.npy`, { maxRows: 5000 });
    assert.equal(all.xShape[0], rows);
    assert.equal(all.sampleNote, undefined);
  });

  it("other formats are sampled after reading: the same rows as the .npy pair of the same data", async () => {
    const rows = 500;
    const x = Float32Array.from({ length: rows * 3 }, (_, i) => i);
    const y = Int32Array.from({ length: rows }, (_, r) => r % 2);
    await writeIn(dir, "x.npy", npyBytes("<f4", [rows, 3], bytesOf(x)));
    await writeIn(dir, "y.npy", npyBytes("<i4", [rows], bytesOf(y)));
    const csvLines = Array.from({ length: rows }, (_, r) => `${x[3 * r]},${x[3 * r + 1]},${x[3 * r + 2]},${y[r]}`);
    const csv = await writeIn(dir, "data.csv", `a,b,c,label\n${csvLines.join("\n")}\n`);
    const fromNpy = await loadDataset(`${dir}/x.npy`, { maxRows: 40, sampleSeed: 9 });
    const fromCsv = await loadDataset(csv, { maxRows: 40, sampleSeed: 9 });
    assert.deepEqual(fromCsv.x, fromNpy.x);
    assert.deepEqual([...fromCsv.y!], [...fromNpy.y!]);
    assert.match(
      fromCsv.sampleNote ?? "",
      /data\.csv: a seeded sample of 40 of its 500 rows .*taken after reading the file whole/,
    );
  });
});
