import assert from "node:assert/strict";
import { UsageError } from "../../../../src/core/errors.js";
import { linear, uniform } from "../../../../src/core/merge/methods/linear.js";
import { assertClose, f32 } from "../helpers.js";

const tensor = { name: "dense/kernel", layer: "dense", shape: [2] };

describe("merge/linear", () => {
  it("weights the models and normalizes by the weights' sum", () => {
    // (1·[1,2] + 3·[3,4]) / (1+3) = [10,14]/4 = [2.5, 3.5]
    const out = linear.merge({
      tensor,
      models: [f32(1, 2), f32(3, 4)],
      params: { normalize: true },
      modelParams: [{ weight: 1 }, { weight: 3 }],
    });
    assertClose(out, [2.5, 3.5]);
  });

  it("sums without normalizing when normalize is false", () => {
    // 1·[1,2] + 3·[3,4] = [10, 14]
    const out = linear.merge({
      tensor,
      models: [f32(1, 2), f32(3, 4)],
      params: { normalize: false },
      modelParams: [{ weight: 1 }, { weight: 3 }],
    });
    assertClose(out, [10, 14]);
  });

  it("refuses to normalize weights that sum to zero", () => {
    assert.throws(
      () =>
        linear.merge({
          tensor,
          models: [f32(1, 2), f32(3, 4)],
          params: { normalize: true },
          modelParams: [{ weight: 1 }, { weight: -1 }],
        }),
      (e: unknown) => e instanceof UsageError && /sum to zero/.test(e.message),
    );
  });

  it("uniform is the plain mean and leaves its inputs unchanged", () => {
    const a = f32(1, 2);
    const b = f32(3, 4);
    const c = f32(5, 9);
    // ([1,2]+[3,4]+[5,9])/3 = [9,15]/3 = [3, 5]
    assertClose(uniform.merge({ tensor, models: [a, b, c], params: {}, modelParams: [{}, {}, {}] }), [3, 5]);
    assert.deepEqual(Array.from(a), [1, 2]);
    assert.deepEqual(Array.from(c), [5, 9]);
  });
});
