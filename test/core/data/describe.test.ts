import assert from "node:assert/strict";
import { describeDataset } from "../../../src/core/data/describe.js";
import { loadDataset } from "../../../src/core/data/load.js";
import { DIGITS, tempDir, writeIn } from "./helpers.js";

describe("describeDataset", () => {
  it("previews the digits: shapes, label column, class counts, value range", async () => {
    const d = describeDataset(await loadDataset(DIGITS));
    assert.equal(d.samples, 1797);
    assert.deepEqual(d.xShape, [1797, 64]);
    assert.equal(d.features, 64);
    assert.equal(d.labelName, "column 65");
    assert.deepEqual(d.featureRange, { min: 0, max: 16 });
    // Class sizes of the UCI digits test set (as sklearn's load_digits reports them).
    assert.deepEqual(
      d.classCounts!.map((c) => c.count),
      [178, 182, 177, 183, 181, 182, 181, 179, 174, 180],
    );
    assert.equal(d.classCounts![3]!.name, "3");
  });

  it("previews regression targets and named classes", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const reg = describeDataset(await loadDataset(await writeIn(dir, "r.csv", "x,t\n1,0.5\n2,1.5\n3,4\n")));
      assert.equal(reg.task, "regression");
      assert.deepEqual(reg.targets, { min: 0.5, max: 4, mean: 2 });
      assert.equal(reg.labelName, "t");
      const cls = describeDataset(await loadDataset(await writeIn(dir, "c.csv", "1,b\n2,a\n3,b\n")));
      assert.deepEqual(cls.classCounts, [
        { index: 0, name: "a", count: 1 },
        { index: 1, name: "b", count: 2 },
      ]);
    } finally {
      await cleanup();
    }
  });
});
