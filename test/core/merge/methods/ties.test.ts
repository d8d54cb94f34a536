import assert from "node:assert/strict";
import { ties } from "../../../../src/core/merge/methods/ties.js";
import { trimToTopK } from "../../../../src/core/merge/task-vectors.js";
import { assertClose, f32 } from "../helpers.js";

const tensor = { name: "w", layer: "w", shape: [4] };

describe("merge/ties", () => {
  it("trims, elects signs and averages the agreeing entries (hand-computed)", () => {
    // base 1; task vectors τ1 = [3,−1,0.5,−2], τ2 = [−1,2,0.4,−4], τ3 = [2,−3,−0.1,1].
    // density 0.5 → k = 2 per vector: τ1 → [3,0,0,−2], τ2 → [0,2,0,−4], τ3 → [2,−3,0,0].
    // sums [5,−1,0,−6] → signs [+,−,+,−]; agreeing means: (3+2)/2 = 2.5, −3/1, 0 (none), (−2−4)/2 = −3.
    const base = f32(1, 1, 1, 1);
    const models = [f32(4, 0, 1.5, -1), f32(0, 3, 1.4, -3), f32(3, -2, 0.9, 2)];
    const out = ties.merge({
      tensor,
      models,
      base,
      params: { normalize: true, lambda: 1 },
      modelParams: [1, 1, 1].map((weight) => ({ weight, density: 0.5 })),
    });
    assertClose(out, [3.5, -2, 1, -2]);
  });

  it("elects the sign from the weighted sum and averages with the weights", () => {
    // base 0; τ = [1,−2], [4,2], [−1,1]; weights (1, 0.5, 2) → weighted [1,−2], [2,1], [−2,2].
    // entry 0: sum 1 → +; agreeing 1 (w 1) and 2 (w 0.5) → 3/1.5 = 2.
    // entry 1: sum 1 → +; agreeing 1 (w 0.5) and 2 (w 2) → 3/2.5 = 1.2.
    const input = {
      tensor: { ...tensor, shape: [2] },
      models: [f32(1, -2), f32(4, 2), f32(-1, 1)],
      base: f32(0, 0),
      modelParams: [1, 0.5, 2].map((weight) => ({ weight, density: 1 })),
    };
    assertClose(ties.merge({ ...input, params: { normalize: true, lambda: 1 } }), [2, 1.2]);
    // without normalize the agreeing weighted entries are summed, then scaled by λ = 0.5: [3, 3]·0.5
    assertClose(ties.merge({ ...input, params: { normalize: false, lambda: 0.5 } }), [1.5, 1.5]);
  });

  it("elects + when the signed sum is exactly zero (mergekit's >= 0)", () => {
    // τ1 = +1, τ2 = −1: sum 0 → +; only τ1 agrees → 1/1
    const out = ties.merge({
      tensor: { ...tensor, shape: [1] },
      models: [f32(1), f32(-1)],
      base: f32(0),
      params: { normalize: true, lambda: 1 },
      modelParams: [
        { weight: 1, density: 1 },
        { weight: 1, density: 1 },
      ],
    });
    assertClose(out, [1]);
  });

  it("never counts zero entries as agreeing, so they do not dilute the mean", () => {
    // τ = 0, −2, 0: sum −2 → −; only −2 agrees → −2/1 (counting the zeros would give −2/3)
    const out = ties.merge({
      tensor: { ...tensor, shape: [1] },
      models: [f32(5), f32(3), f32(5)],
      base: f32(5),
      params: { normalize: true, lambda: 1 },
      modelParams: [1, 1, 1].map((weight) => ({ weight, density: 1 })),
    });
    assertClose(out, [3]);
  });

  it("trims to floor(density·n), keeping the earlier of equal magnitudes", () => {
    assert.deepEqual(Array.from(trimToTopK(f32(1, -1, 1), 0.34)), [1, 0, 0]); // k = ⌊1.02⌋ = 1
    assert.deepEqual(Array.from(trimToTopK(f32(0.5, -3, 2, -1), 0.5)), [0, -3, 2, 0]);
    assert.deepEqual(Array.from(trimToTopK(f32(3, 2, 1), 0.2)), [0, 0, 0]); // k = 0
    assert.deepEqual(Array.from(trimToTopK(f32(3, 2, 1), 1)), [3, 2, 1]);
  });

  it("trimming keeps exactly the top-k magnitudes on random data (against a sort)", () => {
    let s = 12345;
    const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    for (const n of [1, 7, 100, 1001]) {
      // quantized values so magnitudes repeat and the tie rule is exercised
      const delta = Float32Array.from({ length: n }, () => Math.round(rand() * 8) / 4);
      for (const density of [0.1, 0.5, 0.9]) {
        const k = Math.trunc(density * n);
        const order = Array.from(delta.keys()).sort((a, b) => Math.abs(delta[b]!) - Math.abs(delta[a]!) || a - b);
        const keep = new Set(order.slice(0, k));
        const expected = Array.from(delta, (v, j) => (keep.has(j) ? v : 0));
        assert.deepEqual(Array.from(trimToTopK(delta, density)), expected, `n=${n} density=${density}`);
      }
    }
  });
});
