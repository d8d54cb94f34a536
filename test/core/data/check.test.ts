import assert from "node:assert/strict";
import { ModelFileError } from "../../../src/core/errors.js";
import { checkAgainstInput } from "../../../src/core/data/check.js";
import type { Dataset } from "../../../src/core/data/dataset.js";
import { loadDataset } from "../../../src/core/data/load.js";
import { DIGITS } from "./helpers.js";

function table(rows: number, features: number, labels?: number[]): Dataset {
  const d: Dataset = {
    x: Float32Array.from({ length: rows * features }, (_, i) => i),
    xShape: [rows, features],
    task: labels ? "classification" : "unlabeled",
    source: "t.csv",
    notes: [],
  };
  if (labels) Object.assign(d, { y: Int32Array.from(labels), yShape: [rows], classes: labels.map(String) });
  return d;
}

function throwsMessage(action: () => unknown, message: string): void {
  assert.throws(action, (e: unknown) => e instanceof ModelFileError && e.message === message);
}

describe("checkAgainstInput", () => {
  it("refuses digits rows for a 28x28 model with the sizes in words", async () => {
    const digits = await loadDataset(DIGITS);
    throwsMessage(
      () => checkAgainstInput(digits, [null, 28, 28, 1], [null, 10], "digits.csv"),
      "digits.csv: rows have 64 features; the model expects input [batch, 28, 28, 1] (784 values)",
    );
  });

  it("accepts matching shapes as they are, with null dimensions as wildcards", async () => {
    const digits = await loadDataset(DIGITS);
    const same = checkAgainstInput(digits, [null, 64], [null, 10]);
    assert.equal(same.dataset, digits);
    assert.deepEqual(same.notes, []);
    const images: Dataset = { ...table(2, 12), xShape: [2, 2, 2, 3] };
    assert.deepEqual(checkAgainstInput(images, [null, null, null, 3], [null, 1]).notes, []);
  });

  it("reshapes a flat row when the sizes agree, and says so", async () => {
    const digits = await loadDataset(DIGITS);
    const checked = checkAgainstInput(digits, [null, 8, 8, 1], [null, 10]);
    assert.deepEqual(checked.dataset.xShape, [1797, 8, 8, 1]);
    assert.equal(checked.dataset.x, digits.x, "the values are shared, only the shape changes");
    assert.deepEqual(digits.xShape, [1797, 64], "the input dataset is not modified");
    assert.deepEqual(checked.notes, [
      "samples of shape [64] reshaped to [8, 8, 1] for the model's input [batch, 8, 8, 1]",
    ]);
    throwsMessage(
      () => checkAgainstInput({ ...table(1, 12), xShape: [1, 2, 2, 3] }, [null, 5], [null, 1]),
      "t.csv: samples have shape [2, 2, 3] (12 values); the model expects input [batch, 5] (5 values)",
    );
    throwsMessage(
      () => checkAgainstInput(table(1, 6), [null, null, 3], [null, 1]),
      "t.csv: rows have 6 features; the model expects input [batch, any, 3]",
    );
  });

  it("refuses class indices beyond the output units, naming the class", () => {
    throwsMessage(
      () => checkAgainstInput(table(3, 2, [0, 10, 4]), [null, 2], [null, 10]),
      "t.csv: sample 1 has class 10, beyond the model's 10 output units (classes 0..9)",
    );
    const named = { ...table(2, 2, [0, 2]), classes: ["a", "b", "c"] };
    throwsMessage(
      () => checkAgainstInput(named, [null, 2], [null, 2]),
      't.csv: sample 1 has class 2 ("c"), beyond the model\'s 2 output units (classes 0..1)',
    );
    assert.doesNotThrow(
      () => checkAgainstInput(table(2, 2, [0, 1]), [null, 2], [null, 1]),
      "one sigmoid unit takes classes 0 and 1",
    );
    throwsMessage(
      () => checkAgainstInput(table(2, 2, [0, 2]), [null, 2], [null, 1]),
      "t.csv: sample 1 has class 2, beyond the model's 1 output unit (binary: classes 0 and 1) (classes 0..1)",
    );
  });

  it("refuses regression targets of the wrong width and non-finite features", () => {
    const reg: Dataset = { ...table(2, 2), task: "regression", y: new Float32Array(4), yShape: [2, 2] };
    throwsMessage(
      () => checkAgainstInput(reg, [null, 2], [null, 1]),
      "t.csv: labels have 2 values per sample; the model's output [batch, 1] has 1",
    );
    assert.doesNotThrow(() => checkAgainstInput(reg, [null, 2], [null, 2]));
    const nan = table(2, 2);
    nan.x[3] = NaN;
    throwsMessage(
      () => checkAgainstInput(nan, [null, 2], [null, 1]),
      "t.csv: sample 1 holds NaN; expected finite feature values",
    );
  });
});
