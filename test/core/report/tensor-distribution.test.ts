import assert from "node:assert/strict";
import { tensorDistribution } from "../../../src/core/report/tensor-distribution.js";

describe("tensorDistribution", () => {
  it("gives the moments, range and an equal-width histogram", () => {
    const d = tensorDistribution(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), 4);
    assert.equal(d.count, 8);
    assert.equal(d.mean, 3.5);
    assert.ok(Math.abs(d.std - Math.sqrt(5.25)) < 1e-12);
    assert.equal(d.min, 0);
    assert.equal(d.max, 7);
    assert.deepEqual(d.histogram, [2, 2, 2, 2]);
  });

  it("counts non-finite values apart and leaves them out of the rest", () => {
    const d = tensorDistribution(Float32Array.from([1, NaN, Infinity, 3]), 2);
    assert.equal(d.nonFinite, 2);
    assert.equal(d.count, 2);
    assert.equal(d.mean, 2);
    assert.deepEqual(d.histogram, [1, 1]);
  });

  it("puts a constant tensor in one bin, and an empty one in none", () => {
    assert.deepEqual(tensorDistribution([0.5, 0.5, 0.5]).histogram, [3]);
    assert.deepEqual(tensorDistribution([]).histogram, []);
  });
});
