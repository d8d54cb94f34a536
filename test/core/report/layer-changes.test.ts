import assert from "node:assert/strict";
import { formatLayerChanges } from "../../../src/core/report/layer-changes.js";

describe("formatLayerChanges", () => {
  it("puts the relative change first and names both sides and the largest change", () => {
    const text = formatLayerChanges(
      [
        { name: "dense/kernel", shape: [64, 10], mean: 0.01, std: 0.2, l2: 5, relativeChange: 0.1234 },
        { name: "dense/bias", shape: [10], mean: 0, std: 0.1, l2: 0.3, relativeChange: 0.5 },
      ],
      "models-soup/model.json",
      "ingredient-2/model.json",
    );
    const lines = text.split("\n");
    assert.equal(lines[0], "Per-layer change of models-soup/model.json");
    assert.equal(lines[1], "from the reference ingredient-2/model.json");
    assert.equal(lines[3], "Largest change: dense/bias (50.00%)");
    assert.match(lines[5]!, /^change {2}tensor/);
    assert.match(lines[7]!, /^12\.34% {2}dense\/kernel {2}\[64, 10\]/);
    assert.match(lines[8]!, /^50\.00% {2}dense\/bias/);
  });
});
