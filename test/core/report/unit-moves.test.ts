import assert from "node:assert/strict";
import { formatUnitMoves, unitMoves } from "../../../src/core/report/unit-moves.js";

describe("core/report/unit-moves (what aligning a model changed)", () => {
  it("lists the positions whose unit came from elsewhere, per group", () => {
    const groups = unitMoves({ dense_2: [0, 1, 2], dense_1: [2, 1, 0, 3] });
    assert.deepEqual(groups, [
      {
        group: "dense_1",
        size: 4,
        moves: [
          { at: 0, from: 2 },
          { at: 2, from: 0 },
        ],
      },
      { group: "dense_2", size: 3, moves: [] },
    ]);
  });

  it("says how many units moved and where, leaving out groups that did not move", () => {
    const text = formatUnitMoves(
      unitMoves({ dense_1: [2, 1, 0, 3], dense_2: [0, 1] }),
      "ingredient 2",
      "ingredient 1",
      "weight",
    );
    assert.match(text, /^Units of ingredient 2 after aligning it to ingredient 1 \(weight matching\)/);
    assert.match(text, /2 units moved\./);
    assert.match(text, /dense_1: 2 of 4 units moved\n {2}position 0 ← unit 2\n {2}position 2 ← unit 0\n/);
    assert.doesNotMatch(text, /dense_2/);
    assert.match(formatUnitMoves([], "the reference", "itself", "weight"), /No unit moved/);
  });
});
