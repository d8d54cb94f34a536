import assert from "node:assert/strict";
import { UsageError } from "../../../src/core/errors.js";
import { checkParamValue, interpolateGradient, layerPositions, resolveParam } from "../../../src/core/merge/params.js";

describe("merge/params", () => {
  it("interpolates gradients as mergekit does", () => {
    const g = [0, 0.5, 0.3, 0.7, 1];
    // t = 0.3: scaled 1.2 → 0.8·0.5 + 0.2·0.3 = 0.46
    assert.ok(Math.abs(interpolateGradient(g, 0.3) - 0.46) < 1e-12);
    assert.equal(interpolateGradient(g, 0), 0);
    assert.equal(interpolateGradient(g, 1), 1);
    assert.equal(interpolateGradient(g, 0.5), 0.3);
  });

  it("tries byLayer, then its default; rules in order, first match wins", () => {
    const ctx = { name: "model.layers.3.mlp.up_proj.weight", layer: "model.layers.3.mlp.up_proj", position: 0.5 };
    assert.equal(resolveParam({ byLayer: { "model.layers.3.mlp.up_proj": 0.2 }, default: 1 }, ctx), 0.2);
    assert.equal(resolveParam({ byLayer: { other: 0.2 }, default: 1 }, ctx), 1);
    assert.equal(resolveParam({ byLayer: { other: 0.2 } }, ctx), undefined);
    assert.equal(
      resolveParam([{ filter: "self_attn", value: 0.1 }, { filter: "mlp", value: 0.2 }, { value: 0.3 }], ctx),
      0.2,
    );
    assert.equal(resolveParam([{ filter: "self_attn", value: 0.1 }], ctx), undefined);
    assert.equal(resolveParam([{ filter: "*", value: [0, 1] }], ctx), 0.5);
  });

  it("spreads layers over [0, 1] in order of first appearance", () => {
    assert.deepEqual(
      [...layerPositions(["a", "b", "a", "c"])],
      [
        ["a", 0],
        ["b", 0.5],
        ["c", 1],
      ],
    );
    assert.deepEqual([...layerPositions(["only"])], [["only", 1]]);
  });

  it("rejects malformed values", () => {
    for (const bad of [
      Number.NaN,
      "0.5",
      [],
      [1, "x"],
      { byLayer: { a: "1" } },
      [{ filter: 3, value: 1 }],
      [{ filter: "x" }],
    ]) {
      assert.throws(() => checkParamValue(bad, "p"), UsageError, JSON.stringify(bad));
    }
  });
});
