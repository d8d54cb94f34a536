import assert from "node:assert/strict";
import { loadDataset } from "../../../src/core/data/load.js";
import { rejectsWith, tempDir, writeIn } from "./helpers.js";

describe("JSON loader", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());
  const json = (name: string, value: unknown) => writeIn(dir, name, JSON.stringify(value));

  it('reads {"x": nested samples, "y": class indices, "classes": names}', async () => {
    const path = await json("d.json", {
      x: [
        [
          [1, 2],
          [3, 4],
        ],
        [
          [5, 6],
          [7, 8],
        ],
      ],
      y: [1, 0],
      classes: ["cat", "dog"],
    });
    const d = await loadDataset(path);
    assert.deepEqual(d.xShape, [2, 2, 2]);
    assert.deepEqual(Array.from(d.x), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(Array.from(d.y!), [1, 0]);
    assert.deepEqual(d.classes, ["cat", "dog"]);
  });

  it("reads chosen keys, string labels, one-hot rows and regression targets", async () => {
    const keyed = await loadDataset(await json("k.json", { inputs: [[1], [2], [3]], target: ["b", "a", "b"] }), {
      xKey: "inputs",
      label: "target",
    });
    assert.deepEqual(keyed.classes, ["a", "b"]);
    assert.deepEqual(Array.from(keyed.y!), [1, 0, 1]);
    const onehot = await loadDataset(
      await json("o.json", {
        x: [[1], [2]],
        y: [
          [0, 0, 1],
          [1, 0, 0],
        ],
      }),
    );
    assert.deepEqual(Array.from(onehot.y!), [2, 0]);
    const reg = await loadDataset(
      await json("r.json", {
        x: [[1], [2]],
        y: [
          [0.5, 1],
          [2, 3],
        ],
      }),
    );
    assert.equal(reg.task, "regression");
    assert.deepEqual(reg.yShape, [2, 2]);
  });

  it("reads an array of records: numeric fields as features, the label key as labels", async () => {
    const path = await json("rec.json", [
      { a: 1, b: 2, label: "x" },
      { a: 3, b: 4, label: "y" },
    ]);
    const d = await loadDataset(path);
    assert.deepEqual(d.xShape, [2, 2]);
    assert.deepEqual(Array.from(d.x), [1, 2, 3, 4]);
    assert.deepEqual(d.classes, ["x", "y"]);
    assert.equal(d.labelName, "label");
    const pixels = await loadDataset(
      await json("p.json", [
        {
          pixels: [
            [1, 2],
            [3, 4],
          ],
          y: 0,
        },
        {
          pixels: [
            [5, 6],
            [7, 8],
          ],
          y: 1,
        },
      ]),
    );
    assert.deepEqual(pixels.xShape, [2, 2, 2]);
    assert.deepEqual(Array.from(pixels.y!), [0, 1]);
    const bare = await loadDataset(
      await json("b.json", [
        [1, 2],
        [3, 4],
      ]),
    );
    assert.equal(bare.task, "unlabeled");
    assert.deepEqual(bare.xShape, [2, 2]);
  });

  it("refuses bad JSON, missing keys, ragged arrays, non-numeric features and length mismatches", async () => {
    const broken = await writeIn(dir, "broken.json", '{"x": [1, 2');
    await rejectsWith(() => loadDataset(broken), `${broken}: is not valid JSON`);
    const noX = await json("nox.json", { features: [[1]], y: [0] });
    await rejectsWith(() => loadDataset(noX), `${noX}: has no "x" key for the features (keys found: "features", "y")`);
    await rejectsWith(
      async () => loadDataset(await json("noy.json", { x: [[1]] }), { label: "t" }),
      'has no "t" key for the labels',
    );
    const ragged = await json("rag.json", { x: [[1, 2], [3]], y: [0, 1] });
    await rejectsWith(() => loadDataset(ragged), ragged, '"x"[1] has length 1; expected 2 entries');
    const text = await json("txt.json", { x: [[1, "2"]], y: [0] });
    await rejectsWith(() => loadDataset(text), '"x"[0][1]: "2" is not a number');
    const mismatch = await json("mm.json", { x: [[1], [2], [3]], y: [0, 1] });
    await rejectsWith(() => loadDataset(mismatch), `${mismatch}: "x" has 3 samples but "y" has 2 labels`);
    const rec = await json("rec.json", [{ a: 1, label: 0 }, { a: 2 }]);
    await rejectsWith(() => loadDataset(rec), 'record 1 has no "label"');
    const recText = await json("rt.json", [{ a: "big", label: 0 }]);
    await rejectsWith(() => loadDataset(recText), 'record 0, "a": "big" is not a number');
    await rejectsWith(async () => loadDataset(await json("e.json", [])), "is an empty array");
    await rejectsWith(async () => loadDataset(await json("n.json", 42)), 'expected {"x": [...], "y": [...]}');
  });
});
