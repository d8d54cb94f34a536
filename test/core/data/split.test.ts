import assert from "node:assert/strict";
import { UsageError } from "../../../src/core/errors.js";
import type { Dataset } from "../../../src/core/data/dataset.js";
import { loadDataset } from "../../../src/core/data/load.js";
import { mulberry32, shuffleInPlace } from "../../../src/core/random.js";
import { splitDataset, subsetDataset } from "../../../src/core/data/split.js";
import { DIGITS } from "./helpers.js";

/**
 * The stratified order as first written (an object per sample, one stable sort): recipes record only the seed and
 * the fractions, so a faster placement must give exactly this split.
 */
function referenceOrder(y: ArrayLike<number>, seed: number): number[] {
  const random = mulberry32(seed);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) {
    if (!byClass.has(y[i]!)) byClass.set(y[i]!, []);
    byClass.get(y[i]!)!.push(i);
  }
  const placed: { index: number; position: number; tie: number }[] = [];
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = byClass.get(c)!;
    shuffleInPlace(members, random);
    members.forEach((index, k) => placed.push({ index, position: (k + 0.5) / members.length, tie: random() }));
  }
  placed.sort((a, b) => a.position - b.position || a.tie - b.tie);
  return placed.map((p) => p.index);
}

const counts = (y: ArrayLike<number>, k: number) => {
  const c = new Array<number>(k).fill(0);
  for (let i = 0; i < y.length; i++) c[y[i]!]!++;
  return c;
};

describe("splitDataset", () => {
  let digits: Dataset;
  before(async () => (digits = await loadDataset(DIGITS)));

  it("mulberry32 is deterministic per seed and spreads over [0, 1)", () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 10000 }, () => a());
    assert.deepEqual(
      xs.slice(0, 5),
      Array.from({ length: 5 }, () => b()),
    );
    assert.notDeepEqual(xs.slice(0, 5), Array.from({ length: 5 }, mulberry32(43)));
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
  });

  it("splits digits 60/20/20 by default: disjoint, covering, sizes from the fractions", () => {
    const s = splitDataset(digits);
    assert.deepEqual(s.sizes, { learn: 1079, validation: 359, test: 359 });
    assert.equal(s.seed, 0);
    assert.ok(s.stratified);
    const all = [...s.indices.learn, ...s.indices.validation, ...s.indices.test].sort((a, b) => a - b);
    assert.deepEqual(
      all,
      Array.from({ length: 1797 }, (_, i) => i),
    );
    for (const name of ["learn", "validation", "test"] as const) {
      const idx = s.indices[name];
      assert.ok(
        idx.every((v, i) => i === 0 || v > idx[i - 1]!),
        `${name} indices ascending`,
      );
      assert.deepEqual(s[name].xShape, [idx.length, 64]);
      const row = idx[7]!;
      assert.deepEqual(
        Array.from(s[name].x.subarray(7 * 64, 8 * 64)),
        Array.from(digits.x.subarray(row * 64, (row + 1) * 64)),
      );
      assert.equal(s[name].y![7], digits.y![row]);
    }
  });

  it("is stratified: each class's share in each split is within one sample of its fraction", () => {
    const s = splitDataset(digits, { seed: 3 });
    const total = counts(digits.y!, 10);
    for (const [name, f] of [
      ["learn", 0.6],
      ["validation", 0.2],
      ["test", 0.2],
    ] as const) {
      counts(s[name].y!, 10).forEach((c, k) =>
        assert.ok(Math.abs(c - total[k]! * f) <= 1.5, `${name} class ${k}: ${c} of ${total[k]}`),
      );
    }
  });

  it("is deterministic for a seed and differs between seeds", () => {
    const a = splitDataset(digits, { seed: 7 });
    const b = splitDataset(digits, { seed: 7 });
    assert.deepEqual(a.indices, b.indices);
    const c = splitDataset(digits, { seed: 8 });
    assert.notDeepEqual(Array.from(a.indices.test), Array.from(c.indices.test));
  });

  it("gives exactly the split of the straightforward placement and sort, for several seeds and class sizes", () => {
    // Classes of equal sizes put many samples at the same position (the tie decides); unequal ones interleave.
    const labels = Int32Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? 3 : i % 3));
    const data: Dataset = {
      x: Float32Array.from({ length: 3000 }, (_, i) => i),
      xShape: [3000, 1],
      y: labels,
      yShape: [3000],
      task: "classification",
      source: "labels.csv",
      notes: [],
    };
    for (const [dataset, seed] of [
      [digits, 0],
      [digits, 11],
      [data, 0],
      [data, 5],
    ] as const) {
      const order = referenceOrder(dataset.y!, seed);
      const s = splitDataset(dataset, { seed });
      const [test, validation] = [s.sizes.test, s.sizes.validation];
      const pick = (from: number, to: number) => order.slice(from, to).sort((a, b) => a - b);
      assert.deepEqual(Array.from(s.indices.test), pick(0, test));
      assert.deepEqual(Array.from(s.indices.validation), pick(test, test + validation));
      assert.deepEqual(Array.from(s.indices.learn), pick(test + validation, order.length));
    }
  });

  it("subsetDataset copies narrow and wide rows, features and labels, in the order given", () => {
    for (const width of [3, 300]) {
      const n = 20;
      const data: Dataset = {
        x: Float32Array.from({ length: n * width }, (_, i) => i),
        xShape: [n, width],
        y: Float32Array.from({ length: n * 2 }, (_, i) => -i),
        yShape: [n, 2],
        task: "regression",
        source: "wide.csv",
        notes: [],
      };
      const rows = [7, 0, 19, 7];
      const part = subsetDataset(data, rows);
      assert.deepEqual(part.xShape, [4, width]);
      assert.deepEqual(
        Array.from(part.x),
        rows.flatMap((r) => Array.from(data.x.subarray(r * width, (r + 1) * width))),
      );
      assert.deepEqual(
        Array.from(part.y!),
        rows.flatMap((r) => [-2 * r, -2 * r - 1]),
      );
    }
  });

  it("splits regression and unlabeled data without strata, with custom fractions", () => {
    const n = 50;
    const reg: Dataset = {
      x: Float32Array.from({ length: n }, (_, i) => i),
      xShape: [n, 1],
      y: Float32Array.from({ length: n }, (_, i) => i / 2),
      yShape: [n, 1],
      task: "regression",
      source: "r.csv",
      notes: [],
    };
    const s = splitDataset(reg, { seed: 1, fractions: { learn: 0.8, validation: 0.1, test: 0.1 } });
    assert.equal(s.stratified, false);
    assert.deepEqual(s.sizes, { learn: 40, validation: 5, test: 5 });
    s.indices.test.forEach((row, i) => assert.equal(s.test.y![i], row / 2));
    const noValidation = splitDataset(reg, { fractions: { learn: 0.7, validation: 0, test: 0.3 } });
    assert.equal(noValidation.sizes.validation, 0);
  });

  it("refuses bad fractions, a fractional seed and too few samples", () => {
    assert.throws(() => splitDataset(digits, { fractions: { learn: 0.5, validation: 0.2, test: 0.2 } }), UsageError);
    assert.throws(
      () => splitDataset(digits, { fractions: { learn: 1.2, validation: -0.1, test: -0.1 } }),
      /non-negative and sum to 1/,
    );
    assert.throws(() => splitDataset(digits, { seed: 0.5 }), /integer/);
    const two = subsetDataset(digits, [0, 1]);
    assert.throws(() => splitDataset(two), /2 samples are too few/);
  });
});
