import assert from "node:assert/strict";
import { dareLinear, dareTies } from "../../../../src/core/merge/methods/dare.js";
import { taskArithmetic } from "../../../../src/core/merge/methods/task-arithmetic.js";
import { assertClose, f32 } from "../helpers.js";

const N = 200_000;
const ones = new Float32Array(N).fill(1);
const zeros = new Float32Array(N);
const params = (over: Record<string, number | boolean> = {}) => ({
  normalize: false,
  rescale: true,
  lambda: 1,
  seed: 7,
  ...over,
});

function run(name: string, seed: number, density = 0.3) {
  return dareLinear.merge({
    tensor: { name, layer: "l", shape: [N] },
    models: [ones],
    base: zeros,
    params: params({ seed }),
    modelParams: [{ weight: 1, density }],
  });
}

describe("merge/dare", () => {
  it("is deterministic per seed and tensor name, and differs across them", () => {
    const a = run("layer.0.weight", 7);
    assert.deepEqual(run("layer.0.weight", 7), a);
    assert.notDeepEqual(run("layer.0.weight", 8), a);
    assert.notDeepEqual(run("layer.1.weight", 7), a);
  });

  it("drops with probability p = 1 − density and rescales kept entries by 1/(1 − p)", () => {
    const out = run("w", 7, 0.3);
    let kept = 0;
    let sum = 0;
    for (const v of out) {
      if (v !== 0) {
        kept++;
        assert.equal(v, Math.fround(1 / 0.3));
      }
      sum += v;
    }
    // Binomial(N, 0.3): sd of the kept fraction is sqrt(0.3·0.7/N) ≈ 0.001; allow 5 sd.
    assert.ok(Math.abs(kept / N - 0.3) < 0.005, `kept fraction ${kept / N}`);
    // The rescale keeps the expectation: the mean of the entries (0 or 1/0.3, variance 1/0.3 − 1 ≈ 2.33)
    // has sd sqrt(2.33/N) ≈ 0.0034 around 1; allow 5 sd.
    assert.ok(Math.abs(sum / N - 1) < 0.017, `mean ${sum / N}`);
  });

  it("keeps the kept entries unscaled when rescale is false", () => {
    const out = dareLinear.merge({
      tensor: { name: "w", layer: "l", shape: [N] },
      models: [ones],
      base: zeros,
      params: params({ rescale: false }),
      modelParams: [{ weight: 1, density: 0.5 }],
    });
    assert.ok(out.every((v) => v === 0 || v === 1));
  });

  it("gives independent masks to two models of the same tensor", () => {
    const out = dareLinear.merge({
      tensor: { name: "w", layer: "l", shape: [N] },
      models: [ones, Float32Array.from(ones, () => 2)],
      base: zeros,
      params: params({ rescale: false }),
      modelParams: [
        { weight: 1, density: 0.5 },
        { weight: 1, density: 0.5 },
      ],
    });
    // each entry is 0, 1, 2 or 3; with independent masks each occurs with probability 1/4
    const counts = [0, 0, 0, 0];
    for (const v of out) counts[v]!++;
    for (const c of counts) assert.ok(Math.abs(c / N - 0.25) < 0.005, `counts ${counts}`);
  });

  it("with density 1 is task arithmetic (dare_linear) and TIES without trimming (dare_ties)", () => {
    const tensor = { name: "w", layer: "l", shape: [2] };
    const input = {
      tensor,
      models: [f32(1, -2), f32(4, 2), f32(-1, 1)],
      base: f32(0, 0),
      modelParams: [1, 0.5, 2].map((weight) => ({ weight, density: 1 })),
    };
    const linear = dareLinear.merge({ ...input, params: params() });
    assert.deepEqual(linear, taskArithmetic.merge({ ...input, params: { normalize: false, lambda: 1 } }));
    // 1·[1,−2] + 0.5·[4,2] + 2·[−1,1] = [1, 1]
    assertClose(linear, [1, 1]);
    // sign election as in the TIES test: [3/1.5, 3/2.5] = [2, 1.2]
    assertClose(dareTies.merge({ ...input, params: params({ normalize: true }) }), [2, 1.2]);
  });
});
