import { taskArithmetic } from "../../../../src/core/merge/methods/task-arithmetic.js";
import { assertClose, f32 } from "../helpers.js";

const tensor = { name: "w", layer: "w", shape: [2] };
// base [1,2]; τ1 = [2,2]−[1,2] = [1,0]; τ2 = [1,5]−[1,2] = [0,3]; λ = (0.5, 2): Σ λ_i τ_i = [0.5, 6]
const base = f32(1, 2);
const models = [f32(2, 2), f32(1, 5)];
const modelParams = [{ weight: 0.5 }, { weight: 2 }];

describe("merge/task_arithmetic", () => {
  it("adds the weighted task vectors to the base", () => {
    // [1,2] + [0.5, 6] = [1.5, 8]
    assertClose(
      taskArithmetic.merge({ tensor, models, base, params: { normalize: false, lambda: 1 }, modelParams }),
      [1.5, 8],
    );
  });

  it("scales the sum by lambda", () => {
    // [1,2] + 0.5·[0.5, 6] = [1.25, 5]
    assertClose(
      taskArithmetic.merge({ tensor, models, base, params: { normalize: false, lambda: 0.5 }, modelParams }),
      [1.25, 5],
    );
  });

  it("divides by the weights' sum when normalize is true", () => {
    // [1,2] + [0.5, 6]/2.5 = [1.2, 4.4]
    assertClose(
      taskArithmetic.merge({ tensor, models, base, params: { normalize: true, lambda: 1 }, modelParams }),
      [1.2, 4.4],
    );
  });
});
