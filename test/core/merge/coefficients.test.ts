import assert from "node:assert/strict";
import { UsageError } from "../../../src/core/errors.js";
import { specFromCoefficients } from "../../../src/core/merge/coefficients.js";

describe("merge/coefficients", () => {
  it("turns model-granular coefficients into per-ingredient weights", () => {
    assert.deepEqual(specFromCoefficients({ method: "linear", paths: ["a", "b"], coefficients: [0.3, 0.7] }), {
      method: "linear",
      params: {},
      ingredients: [
        { path: "a", weight: 0.3 },
        { path: "b", weight: 0.7 },
      ],
    });
  });

  it("turns layer-granular coefficients into per-layer weights", () => {
    const spec = specFromCoefficients({
      method: "task_arithmetic",
      paths: ["a", "b"],
      base: "base",
      coefficients: { d1: [0.1, 0.9], d2: [0.4, 0.6] },
    });
    assert.deepEqual(spec.ingredients, [
      { path: "a", weightsByLayer: { d1: 0.1, d2: 0.4 } },
      { path: "b", weightsByLayer: { d1: 0.9, d2: 0.6 } },
    ]);
    assert.equal(spec.base, "base");
    assert.throws(
      () => specFromCoefficients({ method: "linear", paths: ["a", "b"], coefficients: { d1: [1] } }),
      UsageError,
    );
    assert.throws(() => specFromCoefficients({ method: "linear", paths: ["a", "b"], coefficients: [1] }), UsageError);
  });
});
