import assert from "node:assert/strict";
import { basename, dirname } from "node:path";
import { basinNotice } from "../../src/host/basin-notice.js";

const label = (p: string) => basename(dirname(p));
const pair = (a: number, b: number, barrier: number, ends: [number, number] = [0.2, 0.25]) => ({
  a: `/m/ingredient-${a}/model.json`,
  b: `/m/ingredient-${b}/model.json`,
  cosine: 0.5,
  midpointLoss: (ends[0] + ends[1]) / 2 + barrier,
  endpointLoss: ends,
  barrier,
});

describe("host/basin-notice (the panel's offer to align)", () => {
  it("is silent when every pair shares a basin (a barrier that is small, or small beside the ends' loss)", () => {
    assert.equal(basinNotice({ mergeability: [pair(1, 2, 0.01), pair(1, 3, 0.2, [1.2, 1.4])] }, label), undefined);
  });

  it("names the pairs that share none and the largest barrier, and suggests aligning", () => {
    const text = basinNotice({ mergeability: [pair(1, 2, 0.01), pair(1, 6, 0.15), pair(2, 6, 0.17)] }, label)!;
    assert.match(
      text,
      /^These ingredients share no basin: ingredient-1 and ingredient-6; ingredient-2 and ingredient-6 \(the loss halfway between their weights is up to 0\.170 above their own\)/,
    );
    assert.match(text, /"Align first"/);
  });

  it("says so when they were aligned and still share none", () => {
    const alignment = {
      method: "weight" as const,
      reference: "/m/ingredient-1/model.json",
      referenceChosenBy: "validation" as const,
      groups: 1,
      units: 64,
      fixedLayers: [],
      moved: [],
      pairs: [],
    };
    assert.match(
      basinNotice({ mergeability: [pair(1, 6, 0.15)], alignment }, label)!,
      /^Even after alignment these share no basin: ingredient-1 and ingredient-6/,
    );
  });

  it("shortens a long list", () => {
    const many = [2, 3, 4, 5, 6].map((b) => pair(1, b, 0.2));
    assert.match(basinNotice({ mergeability: many }, label)!, /ingredient-1 and ingredient-4 and 2 more pairs \(/);
  });
});
