import assert from "node:assert/strict";
import { basename, dirname } from "node:path";
import { basinNotice, isBasinWarning } from "../../src/host/basin-notice.js";
import { ALIGN_HINT, ALIGNED_HINT } from "../../src/core/report/basin.js";

const label = (p: string) => basename(dirname(p));
const pair = (a: number, b: number, barrier: number, ends: [number, number] = [0.2, 0.25], cosine = 0.5) => ({
  a: `/m/ingredient-${a}/model.json`,
  b: `/m/ingredient-${b}/model.json`,
  cosine,
  midpointLoss: (ends[0] + ends[1]) / 2 + barrier,
  endpointLoss: ends,
  barrier,
});

/** Every pair of models 1..n, with the barrier `barrier(a, b)`. */
const every = (n: number, barrier: (a: number, b: number) => number) =>
  Array.from({ length: n }, (_, a) => a + 1).flatMap((a) =>
    Array.from({ length: n - a }, (_, k) => pair(a, a + k + 1, barrier(a, a + k + 1))),
  );

describe("host/basin-notice (the panel's offer to align)", () => {
  it("is silent when every pair shares a basin (a barrier that is small, or small beside the ends' loss)", () => {
    assert.equal(basinNotice({ mergeability: [pair(1, 2, 0.01), pair(1, 3, 0.2, [1.2, 1.4])] }, label), undefined);
  });

  it("names the one ingredient outside the others once, with the largest barrier, and suggests aligning", () => {
    const text = basinNotice({ mergeability: every(6, (a, b) => (b === 6 ? 0.15 + a / 100 : 0.01)) }, label)!;
    assert.match(
      text,
      /^Some ingredients share no basin: ingredient-6 shares none with the others \(the loss halfway between their weights is up to 0\.200 above their own\)/,
    );
    assert.match(text, /"Align first"/);
  });

  it("groups as the command line does: one cluster per entry, and one phrase when no two share one", () => {
    const clusters = (m: number) => (m <= 3 ? 0 : m <= 5 ? 1 : 2);
    const grouped = basinNotice({ mergeability: every(6, (a, b) => (clusters(a) === clusters(b) ? 0 : 0.2)) }, label)!;
    assert.match(
      grouped,
      /^Some ingredients share no basin: ingredient-4 and ingredient-5 together; and ingredient-6 share none with the others \(/,
    );
    const apart = basinNotice({ mergeability: every(6, () => 0.2) }, label)!;
    assert.match(
      apart,
      /^Some ingredients share no basin: no two of these 6 ingredients share one \(ingredient-1, ingredient-2, ingredient-3 and 3 more\) \(/,
    );
  });

  it("names once an ingredient apart from several others that still shares a basin with one", () => {
    const text = basinNotice(
      { mergeability: every(7, (a, b) => ((a === 6 || b === 6) && a !== 7 && b !== 7 ? 0.2 : 0)) },
      label,
    )!;
    assert.match(text, /^Some ingredients share no basin: ingredient-6 shares none with 5 of the others \(/);
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
      /^Even after alignment some ingredients share no basin: ingredient-1 and ingredient-6 share none \(the loss/,
    );
  });

  it("words the cause by the measured weight cosine: far apart, different starts; close, one start moved apart", () => {
    const far = basinNotice({ mergeability: [pair(1, 2, 0.3, [0.2, 0.25], 0.71)] }, label)!;
    assert.match(
      far,
      /weights are far apart \(cosine 0\.71\): they were likely trained from different initialisations/,
    );
    assert.match(far, /"Align first"/);
    // Fine-tunes of one base with a learning rate too high: close weights, a high barrier. Not "different initialisations".
    const close = basinNotice(
      { mergeability: [pair(1, 2, 0.3, [0.2, 0.25], 0.97), pair(1, 3, 0.35, [0.2, 0.25], 0.99)] },
      label,
    )!;
    assert.doesNotMatch(close, /different initialisations/);
    assert.match(close, /weights are close \(cosine 0\.97–0\.99\), so they likely started from one model/);
    assert.match(close, /aligning will not help/);
  });

  it("does not say 'different initialisations' of one fine-tune carried away from a group that shares a basin", () => {
    // samples/digits: the fine-tunes share a basin, ingredient-6 (too high a learning rate) is far from them.
    const mergeability = every(6, (_a, b) => (b === 6 ? 0.15 : 0.01)).map((p) => ({
      ...p,
      cosine: p.barrier > 0.1 ? 0.59 : 0.98,
    }));
    const text = basinNotice({ mergeability }, label)!;
    assert.doesNotMatch(text, /different initialisations/);
    assert.match(
      text,
      /The others share a basin, so they likely share a start; .*\(cosine 0\.59\).*high learning rate/,
    );
  });

  it("knows the worker's basin warnings, which the panel replaces by its one notice", () => {
    assert.ok(isBasinWarning(`a and b do not seem to share a basin.${ALIGN_HINT}`));
    assert.ok(isBasinWarning(`a and b do not seem to share a basin.${ALIGNED_HINT}`));
    assert.ok(!isBasinWarning("The model's loss is not known: categorical cross-entropy is used."));
  });
});
