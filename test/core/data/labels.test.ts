// Labels as users store them, each read into the form the losses take (class indices or targets), and what
// cannot fit the model refused in one line that names the file and the column or key.
import assert from "node:assert/strict";
import { checkAgainstInput } from "../../../src/core/data/check.js";
import { loadDataset } from "../../../src/core/data/load.js";
import { ModelFileError } from "../../../src/core/errors.js";
import { f32, npyBytes, tempDir, writeIn } from "./helpers.js";

const rows = (labels: string[]) =>
  ["a,b,target", ...labels.map((l, i) => `${i * 0.5},${1 - i},${l}`)].join("\n") + "\n";

async function refuses(promise: Promise<unknown> | (() => unknown), file: string, pattern: RegExp): Promise<void> {
  const run = typeof promise === "function" ? Promise.resolve().then(promise) : promise;
  await assert.rejects(run, (e: unknown) => {
    assert.ok(e instanceof ModelFileError, String(e));
    assert.equal(e.file, file);
    assert.ok(!e.message.includes("\n"), "one line");
    assert.match(e.message, pattern);
    return true;
  });
}

describe("labels as users store them", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it("class indices, 0/1 for one sigmoid unit, and class indices for a 2-way softmax", async () => {
    const path = await writeIn(dir, "idx.csv", rows(["0", "1", "1", "0"]));
    const d = await loadDataset(path, { task: "classification" });
    assert.ok(d.y instanceof Int32Array);
    assert.deepEqual(Array.from(d.y), [0, 1, 1, 0]);
    assert.doesNotThrow(() => checkAgainstInput(d, [null, 2], [null, 1]), "one sigmoid unit takes 0/1");
    assert.doesNotThrow(() => checkAgainstInput(d, [null, 2], [null, 2]), "a 2-way softmax takes 0/1");
    const floats = await writeIn(dir, "floats.csv", rows(["0.0", "1.0", "1.0", "0.0"]));
    assert.deepEqual(Array.from((await loadDataset(floats, { task: "classification" })).y!), [0, 1, 1, 0]);
  });

  it("one-hot label arrays in npy and json become class indices (npz: npz.test.ts)", async () => {
    await writeIn(dir, "x.npy", npyBytes("<f4", [3, 2], f32([0, 1, 2, 3, 4, 5])));
    await writeIn(dir, "y.npy", npyBytes("<f4", [3, 2], f32([1, 0, 0, 1, 0, 1])));
    const npy = await loadDataset(dir.concat("/x.npy"), { task: "classification" });
    assert.deepEqual(Array.from(npy.y!), [0, 1, 1]);
    assert.deepEqual(npy.yShape, [3]);
    const json = await writeIn(
      dir,
      "d.json",
      JSON.stringify({
        x: [[0], [1], [2]],
        y: [
          [0, 0, 1],
          [1, 0, 0],
          [0, 1, 0],
        ],
      }),
    );
    const d = await loadDataset(json);
    assert.deepEqual(Array.from(d.y!), [2, 0, 1]);
    assert.match(d.notes.join(), /one-hot labels \(3 columns\) read as class indices/);
  });

  it("string labels are numbered in sorted order, with a one-line note of the mapping when it is not obvious", async () => {
    const path = await writeIn(dir, "names.csv", rows(["malignant", "benign", "benign", "malignant"]));
    const d = await loadDataset(path);
    assert.deepEqual(Array.from(d.y!), [1, 0, 0, 1]);
    assert.deepEqual(d.classes, ["benign", "malignant"]);
    assert.equal(
      d.labelNote,
      `${path}, column "target": class names numbered in sorted order: "benign" = 0, "malignant" = 1`,
    );
    const yes = await loadDataset(await writeIn(dir, "yes.csv", rows(["yes", "no", "no", "yes"])));
    assert.deepEqual(Array.from(yes.y!), [1, 0, 0, 1]);
    assert.equal(yes.labelNote, undefined, "no/yes needs no note");
  });

  it("refuses what cannot fit in one line naming the file and the column", async () => {
    // Label 3 for a 2-class output.
    const three = await writeIn(dir, "three.csv", rows(["0", "1", "3", "0"]));
    const d = await loadDataset(three, { task: "classification" });
    await refuses(
      () => checkAgainstInput(d, [null, 2], [null, 2]),
      three,
      /^.*three\.csv: column "target": sample 2 has class 3, beyond the model's 2 output units \(classes 0\.\.1\)$/,
    );
    // Strings for a regression output.
    const names = await writeIn(dir, "names.csv", rows(["cat", "dog", "cat", "dog"]));
    await refuses(
      loadDataset(names, { task: "regression" }),
      names,
      /names\.csv: column "target": sample 0 has label "cat"; the model's loss is a regression loss, which needs numeric labels$/,
    );
    // A non-integer for a classifier.
    const half = await writeIn(dir, "half.csv", rows(["0", "0.5", "1", "0"]));
    await refuses(
      loadDataset(half, { task: "classification" }),
      half,
      /half\.csv: column "target": sample 1 has label 0\.5; a classifier needs class indices/,
    );
    // The same in a JSON key.
    const json = await writeIn(dir, "d.json", JSON.stringify({ x: [[0], [1]], y: [0.5, 1] }));
    await refuses(loadDataset(json, { task: "classification" }), json, /d\.json: key "y": sample 0 has label 0\.5/);
  });
});
