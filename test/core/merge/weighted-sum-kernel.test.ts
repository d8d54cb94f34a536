import assert from "node:assert/strict";
import { mulberry32 } from "../../../src/core/random.js";
import { weightedSum } from "../../../src/core/merge/methods/linear.js";
import { weightedSumInto } from "../../../src/core/merge/weighted-sum-kernel.js";

/** Σ w_i·x_i[j] summed left to right in float64, times scale, rounded once to float32: the kernel's contract. */
function reference(xs: Float32Array[], ws: number[], scale: number): Float32Array {
  const out = new Float32Array(xs[0]!.length);
  for (let j = 0; j < out.length; j++) {
    let sum = ws[0]! * xs[0]![j]!;
    for (let i = 1; i < xs.length; i++) sum += ws[i]! * xs[i]![j]!;
    out[j] = sum * scale;
  }
  return out;
}

function inputs(count: number, length: number, seed: number): { xs: Float32Array[]; ws: number[] } {
  const random = mulberry32(seed);
  const xs = Array.from({ length: count }, () => Float32Array.from({ length }, () => (random() - 0.5) * 10));
  return { xs, ws: xs.map(() => random() * 2 - 0.5) };
}

describe("weightedSumInto (the one weighted-sum loop)", () => {
  // 20000 elements: more than two of the kernel's chunks, and a partial last one.
  for (const count of [1, 2, 3, 4, 5, 7, 8, 9]) {
    it(`${count} input(s): the same float32 values as summing in float64 left to right and rounding once, with and without a scale`, () => {
      const { xs, ws } = inputs(count, 20000, count);
      for (const scale of [1, 1 / 3]) {
        const out = weightedSumInto(new Float32Array(20000), xs, ws, scale);
        assert.deepEqual(out, reference(xs, ws, scale));
      }
    });
  }

  it("weightedSum writes into the buffer it is given, and gives the same values as into a new one", () => {
    const { xs, ws } = inputs(6, 10000, 42);
    const buffer = new Float32Array(10000);
    const into = weightedSum(xs, ws, true, "t", buffer);
    assert.equal(into, buffer);
    const fresh = weightedSum(xs, ws, true, "t");
    assert.notEqual(fresh, buffer);
    assert.deepEqual(fresh, buffer);
    const total = ws.reduce((a, b) => a + b, 0);
    assert.deepEqual(fresh, reference(xs, ws, 1 / total));
  });

  it("weightedSum ignores a buffer of another length (a new array is returned)", () => {
    const { xs, ws } = inputs(2, 100, 7);
    const wrong = new Float32Array(50);
    assert.notEqual(weightedSum(xs, ws, false, "t", wrong), wrong);
  });
});
