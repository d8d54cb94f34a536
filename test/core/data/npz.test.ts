import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { zipSync } from "fflate";
import { loadDataset } from "../../../src/core/data/load.js";
import { NUMPY_FIXTURES, bytesOf, f32, npyBytes, rejectsWith, tempDir, writeIn } from "./helpers.js";

const expected = JSON.parse(readFileSync(join(NUMPY_FIXTURES, "expected.json"), "utf8"));

describe("npz loader", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it("reads NumPy's savez_compressed output with the default keys x and y", async () => {
    const d = await loadDataset(join(NUMPY_FIXTURES, "compressed.npz"));
    assert.deepEqual(d.xShape, expected.xShape);
    assert.deepEqual(Array.from(d.x), expected.x.map(Math.fround));
    assert.equal(d.task, "classification");
    assert.ok(d.y instanceof Int32Array);
    assert.deepEqual(Array.from(d.y!), expected.y);
    assert.deepEqual(d.classes, ["0", "1", "2"]);
    assert.equal(d.labelName, "y", 'the bare key (the panel writes labels from "y")');
  });

  it("reads np.savez (stored) output with chosen keys, and one-hot labels as class indices", async () => {
    const d = await loadDataset(join(NUMPY_FIXTURES, "stored.npz"), { xKey: "features", label: "labels" });
    assert.deepEqual(Array.from(d.x), expected.x.map(Math.fround));
    assert.deepEqual(Array.from(d.y!), expected.y);
    const onehot = await loadDataset(join(NUMPY_FIXTURES, "onehot.npz"));
    assert.deepEqual(Array.from(onehot.y!), expected.y);
    assert.deepEqual(onehot.yShape, [6]);
    assert.match(onehot.notes.join(), /one-hot labels \(3 columns\)/);
  });

  it("reads float labels as regression targets, and no y as unlabeled", async () => {
    const path = await writeIn(
      dir,
      "r.npz",
      zipSync({
        "x.npy": npyBytes("<f4", [3, 2], f32([1, 2, 3, 4, 5, 6])),
        "y.npy": npyBytes("<f8", [3], bytesOf(new Float64Array([0.5, 1.5, -2]))),
      }),
    );
    const r = await loadDataset(path);
    assert.equal(r.task, "regression");
    assert.deepEqual(r.yShape, [3, 1]);
    assert.deepEqual(Array.from(r.y!), [0.5, 1.5, -2]);
    const u = await loadDataset(
      await writeIn(dir, "u.npz", zipSync({ "x.npy": npyBytes("<f4", [1, 2], f32([1, 2])) })),
    );
    assert.equal(u.task, "unlabeled");
    assert.equal(u.y, undefined);
  });

  it("names the missing key and lists the keys found", async () => {
    await rejectsWith(
      () => loadDataset(join(NUMPY_FIXTURES, "stored.npz")),
      "stored.npz",
      'has no array "x"',
      '"features", "labels"',
    );
    await rejectsWith(
      () => loadDataset(join(NUMPY_FIXTURES, "compressed.npz"), { label: "target" }),
      'no array "target" for the labels',
      '"x", "y"',
    );
  });

  it("refuses x and y of different lengths", async () => {
    const path = await writeIn(
      dir,
      "m.npz",
      zipSync({
        "x.npy": npyBytes("<f4", [3, 1], f32([1, 2, 3])),
        "y.npy": npyBytes("|u1", [2], new Uint8Array([0, 1])),
      }),
    );
    await rejectsWith(
      () => loadDataset(path),
      `${path}: "x" has 3 samples (shape [3, 1]) but "y" has 2 (shape [2]); expected one label per sample`,
    );
  });

  it("refuses a truncated or corrupt archive and a bad array inside it, naming the file", async () => {
    const whole = zipSync({ "x.npy": npyBytes("<f4", [64], new Uint8Array(256)) }, { level: 0 });
    const cut = await writeIn(dir, "cut.npz", whole.subarray(0, whole.length - 30));
    await rejectsWith(() => loadDataset(cut), cut, "not a valid .npz (zip) archive");
    const inner = await writeIn(dir, "inner.npz", zipSync({ "x.npy": new TextEncoder().encode("garbage") }));
    await rejectsWith(() => loadDataset(inner), `${inner}:x.npy: not a NumPy .npy file`);
    const empty = await writeIn(dir, "empty.npz", new Uint8Array());
    await rejectsWith(() => loadDataset(empty), empty, "empty");
  });

  it("refuses an entry whose declared size the file cannot hold, before inflating it", async () => {
    const zip = zipSync({ "x.npy": npyBytes("<f4", [4], new Uint8Array(16)) }, { level: 0 });
    // Patch the uncompressed size in the central directory (offset 24 of its record) to 1 GB.
    const view = new DataView(zip.buffer);
    let cd = zip.length - 22;
    cd = view.getUint32(cd + 16, true);
    view.setUint32(cd + 24, 1e9, true);
    const path = await writeIn(dir, "bomb.npz", zip);
    await rejectsWith(() => loadDataset(path), path, 'entry "x.npy" declares 1000000000 bytes');
  });
});

describe("npy pair loader", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it("reads NumPy's x.npy with its y.npy sibling, also given the folder", async () => {
    for (const path of [join(NUMPY_FIXTURES, "x.npy"), NUMPY_FIXTURES]) {
      const d = await loadDataset(path);
      assert.deepEqual(d.xShape, expected.xShape);
      assert.deepEqual(Array.from(d.y!), expected.y);
      assert.equal(d.labelName, "y.npy");
    }
  });

  it("finds x_train/y_train and train_x/train_y siblings, or takes an explicit labels path", async () => {
    const x = npyBytes("<f4", [2, 2], f32([1, 2, 3, 4]));
    const y = npyBytes("|u1", [2], new Uint8Array([1, 0]));
    await writeIn(dir, "x_train.npy", x);
    await writeIn(dir, "y_train.npy", y);
    await writeIn(dir, "train_x.npy", x);
    await writeIn(dir, "train_y.npy", y);
    await writeIn(dir, "feats.npy", x);
    await writeIn(dir, "targets.npy", y);
    assert.deepEqual(Array.from((await loadDataset(join(dir, "x_train.npy"))).y!), [1, 0]);
    assert.deepEqual(Array.from((await loadDataset(join(dir, "train_x.npy"))).y!), [1, 0]);
    const unlabeled = await loadDataset(join(dir, "feats.npy"));
    assert.equal(unlabeled.task, "unlabeled");
    assert.match(unlabeled.notes.join(), /no labels file/);
    const explicit = await loadDataset(join(dir, "feats.npy"), { labelsPath: join(dir, "targets.npy") });
    assert.deepEqual(Array.from(explicit.y!), [1, 0]);
  });

  it("refuses x and y of different lengths and a truncated labels file, naming the file", async () => {
    const xPath = await writeIn(dir, "x.npy", npyBytes("<f4", [3], f32([1, 2, 3])));
    await writeIn(dir, "y.npy", npyBytes("|u1", [4], new Uint8Array([0, 1, 0, 1])));
    await rejectsWith(() => loadDataset(xPath), xPath, "x.npy has 3 samples", "y.npy has 4");
    const yPath = await writeIn(dir, "y.npy", npyBytes("<i4", [3], new Uint8Array(12)).subarray(0, 70));
    await rejectsWith(() => loadDataset(xPath), `${yPath}: truncated .npy file`);
  });
});
