import assert from "node:assert/strict";
import type { Dataset } from "../../../src/core/data/dataset.js";
import { withoutTest } from "../../../src/core/data/split.js";
import { jobSplit, matchingTestSet, rowsAlsoIn } from "../../../src/core/data/test-set.js";

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

  it("counts the test rows that are also rows of the learning data, feature for feature", () => {
    const data = table(
      50,
      3,
      Array.from({ length: 50 }, (_, i) => (i % 2 ? "cat" : "dog")),
    );
    data.x.forEach((_, i) => (data.x[i] = Math.sin(i) * 10));
    const test = table(4, 3, ["cat", "dog", "cat", "dog"]);
    // Rows 0 and 1 copy data rows 7 and 31; row 2 differs from data row 8 in one feature's last bit; row 3 is new.
    test.x.set(data.x.subarray(21, 24), 0);
    test.x.set(data.x.subarray(93, 96), 3);
    test.x.set(data.x.subarray(24, 27), 6);
    const bits = new Uint32Array(test.x.buffer);
    bits[8]! ^= 1;
    test.x.set([1e6, 2e6, 3e6], 9);
    assert.equal(rowsAlsoIn(test, data), 2);
    assert.equal(rowsAlsoIn(data, data), 50);
    // A repeated test row counts each time it appears.
    const twice = table(2, 3, ["cat", "cat"]);
    twice.x.set(data.x.subarray(0, 3), 0);
    twice.x.set(data.x.subarray(0, 3), 3);
    assert.equal(rowsAlsoIn(twice, data), 2);
  });

  it("a job's split warns when the --test rows are rows of the data, and only then", () => {
    const data = table(
      40,
      2,
      Array.from({ length: 40 }, (_, i) => (i % 2 ? "cat" : "dog")),
    );
    data.x.forEach((_, i) => (data.x[i] = i));
    const same = jobSplit(data, { dataset: data, file: "data.csv" });
    assert.equal(same.split.sizes.test, 40);
    assert.match(
      same.warning ?? "",
      /^data\.csv: every test row is also a row of the learning data learn\.csv: the test scores are not of held-out rows\.$/,
    );
    const held = table(5, 2, ["cat", "dog", "cat", "dog", "cat"]);
    held.x.forEach((_, i) => (held.x[i] = 1000 + i));
    const clean = jobSplit(data, { dataset: held, file: "held.csv" });
    assert.equal(clean.warning, undefined);
    assert.equal(clean.split.sizes.test, 5);
    assert.equal(clean.split.sizes.learn + clean.split.sizes.validation, 40);
    held.x.set([6, 7], 4);
    held.x.set([0, 1], 8);
    assert.match(jobSplit(data, { dataset: held, file: "held.csv" }).warning ?? "", /^held\.csv: 2 of 5 test rows/);
    assert.equal(jobSplit(data, undefined).warning, undefined);
  });
});
