import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { zipSync } from "fflate";
import { detectDataFormat, loadDataset } from "../../../src/core/data/load.js";
import { DIGITS, NUMPY_FIXTURES, f32, npyBytes, rejectsWith, tempDir, writeIn } from "./helpers.js";

describe("loadDataset", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it("picks the format by content where the name says nothing", async () => {
    const npz = await writeIn(dir, "data.bin", zipSync({ "x.npy": npyBytes("<f4", [1, 1], f32([1])) }));
    const npy = await writeIn(dir, "features", npyBytes("<f4", [1, 1], f32([1])));
    const json = await writeIn(dir, "data.txt.noext", ' \n[{"a": 1, "label": 0}]');
    const csv = await writeIn(dir, "data.dat", "1,2,0\n");
    await mkdir(join(dir, "images"));
    assert.equal(await detectDataFormat(npz), "npz");
    assert.equal(await detectDataFormat(npy), "npy-pair");
    assert.equal(await detectDataFormat(json), "json");
    assert.equal(await detectDataFormat(csv), "csv");
    assert.equal(await detectDataFormat(DIGITS), "csv");
    assert.equal(await detectDataFormat(NUMPY_FIXTURES), "npy-pair");
    assert.equal(await detectDataFormat(join(dir, "images")), "image-folder");
    assert.equal((await loadDataset(json)).xShape[1], 1);
  });

  it("scales features when asked (digits 0..16 to [0, 1])", async () => {
    const d = await loadDataset(DIGITS, { scale: 1 / 16 });
    let max = 0;
    for (const v of d.x) max = Math.max(max, v);
    assert.equal(max, 1);
    assert.equal(d.x[2], 5 / 16);
    assert.match(d.notes.join(), /multiplied by 0.0625/);
  });

  it("refuses missing and empty files, naming them", async () => {
    await rejectsWith(() => loadDataset(join(dir, "nope.csv")), join(dir, "nope.csv"), "cannot be read (ENOENT)");
    const empty = await writeIn(dir, "empty.npz", new Uint8Array());
    await rejectsWith(() => loadDataset(empty), `${empty}: the file is empty`);
    const gz = await writeIn(dir, "what.gz", new Uint8Array([0x1f, 0x8b, 8, 0]));
    await rejectsWith(() => loadDataset(gz), "gzip data of unknown kind");
  });
});
