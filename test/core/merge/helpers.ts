import assert from "node:assert/strict";

export const f32 = (...values: number[]): Float32Array => Float32Array.from(values);

/** Asserts element-wise closeness (float32 results against exact hand-computed numbers). */
export function assertClose(actual: ArrayLike<number>, expected: readonly number[], tolerance = 1e-6): void {
  assert.equal(actual.length, expected.length, "length");
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i]! - expected[i]!) <= tolerance,
      `element ${i}: got ${actual[i]}, expected ${expected[i]} (±${tolerance}); all: [${Array.from(actual).join(", ")}]`,
    );
  }
}
