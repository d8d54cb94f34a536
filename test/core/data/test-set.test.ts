import assert from "node:assert/strict";
import type { Dataset } from "../../../src/core/data/dataset.js";
import { withoutTest } from "../../../src/core/data/split.js";
import { matchingTestSet } from "../../../src/core/data/test-set.js";

function table(rows: number, features: number, labels: string[]): Dataset {
  const classes = [...new Set(labels)].sort();
  return {
    x: new Float32Array(rows * features),
    xShape: [rows, features],
    y: Int32Array.from(labels, (l) => classes.indexOf(l)),
    yShape: [rows],
    task: "classification",
    classes,
    source: "learn.csv",
    notes: [],
  };
}

describe("the user's own test rows", () => {
  it("numbers string classes as the learning data does", () => {
    const data = table(3, 2, ["cat", "dog", "eel"]);
    const test = table(2, 2, ["eel", "dog"]); // its own numbering: dog 0, eel 1
    assert.deepEqual([...matchingTestSet(test, data, "test.csv").y!], [2, 1]);
  });

  it("refuses other features, other kinds of labels and unknown classes, naming the test file", () => {
    const data = table(3, 2, ["cat", "dog", "eel"]);
    assert.throws(
      () => matchingTestSet(table(1, 3, ["cat"]), data, "t.csv"),
      /^ModelFileError: t\.csv: rows have 3 features, the learning data's 2/,
    );
    assert.throws(
      () => matchingTestSet(table(1, 2, ["fox"]), data, "t.csv"),
      /t\.csv: has class "fox", which the learning data does not have/,
    );
    assert.throws(
      () => matchingTestSet({ ...table(1, 2, ["cat"]), task: "regression" }, data, "t.csv"),
      /t\.csv: has regression labels where the learning data has classification labels/,
    );
    const { y: _y, classes: _classes, ...unlabeled } = table(1, 2, ["cat"]);
    assert.throws(
      () => matchingTestSet({ ...unlabeled, task: "unlabeled" }, data, "t.csv"),
      /t\.csv: has no labels where the learning data has classification labels; expected held-out rows like/,
    );
  });

  it("renormalises the split without its test part", () => {
    assert.deepEqual(withoutTest({ learn: 0.6, validation: 0.2, test: 0.2 }), {
      learn: 0.75,
      validation: 0.25,
      test: 0,
    });
  });
});
