import { modelStock, modelStockRatio } from "../../../../src/core/merge/methods/model-stock.js";
import assert from "node:assert/strict";
import { assertClose, f32 } from "../helpers.js";

describe("merge/model_stock", () => {
  it("computes t = k·cosθ / (1 + (k−1)·cosθ)", () => {
    assert.equal(modelStockRatio(2, 0.5), 2 / 3); // 1 / 1.5
    assert.equal(modelStockRatio(3, 0.5), 0.75); // 1.5 / 2
    assert.equal(modelStockRatio(2, 1), 1);
    assert.equal(modelStockRatio(2, 0), 0);
  });

  it("pulls the fine-tunes' mean toward the base by the ratio of their angle (60°, two models)", () => {
    // base [1,1]; task vectors [1,0] and [1/2, √3/2] meet at 60°: cos = 0.5, t = 2/3.
    // mean of the fine-tunes [1.75, 1 + √3/4]; result t·mean + (1−t)·base = [1.5, 1 + √3/6]
    const out = modelStock.merge({
      tensor: { name: "w", layer: "w", shape: [2] },
      models: [f32(2, 1), f32(1.5, 1 + Math.sqrt(3) / 2)],
      base: f32(1, 1),
      params: { filter_wise: false },
      modelParams: [{}, {}],
    });
    assertClose(out, [1.5, 1 + Math.sqrt(3) / 6]);
  });

  it("averages the pairwise cosines for three models", () => {
    // [1,1,0], [1,0,1], [0,1,1]: every pair has cos = 1/2, so t = 0.75; mean = [2/3]·3 → 0.5 each
    const out = modelStock.merge({
      tensor: { name: "w", layer: "w", shape: [3] },
      models: [f32(1, 1, 0), f32(1, 0, 1), f32(0, 1, 1)],
      base: f32(0, 0, 0),
      params: { filter_wise: false },
      modelParams: [{}, {}, {}],
    });
    assertClose(out, [0.5, 0.5, 0.5]);
  });

  it("takes one angle per row when filter_wise", () => {
    // rows: ([1,0],[0,1]) → cos 0 → t 0 → base row; ([1,0],[1,0]) → cos 1 → t 1 → mean [1,0]
    const input = {
      tensor: { name: "w", layer: "w", shape: [2, 2] },
      models: [f32(1, 0, 1, 0), f32(0, 1, 1, 0)],
      base: f32(0, 0, 0, 0),
      modelParams: [{}, {}],
    };
    assertClose(modelStock.merge({ ...input, params: { filter_wise: true } }), [0, 0, 1, 0]);
    // flattened: dot 1, norms √2·√2 → cos 1/2 → t 2/3; mean [0.5,0.5,1,0] → [1/3,1/3,2/3,0]
    assertClose(modelStock.merge({ ...input, params: { filter_wise: false } }), [1 / 3, 1 / 3, 2 / 3, 0]);
  });
});
