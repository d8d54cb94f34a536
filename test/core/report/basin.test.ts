import assert from "node:assert/strict";
import {
  ALIGN_HINT,
  basinGroups,
  basinWarnings,
  withoutAlignHint,
  type BarrierPair,
} from "../../../src/core/report/basin.js";

const HINT = " (hint)";
const names = (n: number) => Array.from({ length: n }, (_, i) => `m${i + 1}`);

function pair(a: number, b: number, high: boolean, lossMidpoint = 0.4): BarrierPair {
  return { a, b, lossA: 0.2 + a / 100, lossB: 0.2 + b / 100, lossMidpoint, high };
}

/** Every pair of n models; `together` says which share a basin. */
function allPairs(
  n: number,
  together: (a: number, b: number) => boolean,
  midpoint = (a: number, b: number) => 0.4 + (a + b) / 1000,
) {
  const pairs: BarrierPair[] = [];
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) pairs.push(pair(a, b, !together(a, b), midpoint(a, b)));
  return pairs;
}

describe("core/report/basin: the basin warnings, one line per cluster", () => {
  it("says nothing when every pair shares a basin", () => {
    assert.deepEqual(
      basinWarnings(
        allPairs(3, () => true),
        names(3),
        HINT,
      ),
      [],
    );
  });

  it("five models trained apart (ten pairs, none sharing a basin) make one line, not ten", () => {
    const warnings = basinWarnings(
      allPairs(5, () => false),
      names(5),
      HINT,
    );
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.equal(
      warnings[0],
      "No two of the 5 models share a basin (m1, m2, m3 and 2 more): halfway between any two of them the loss is 0.401–0.407, " +
        "against 0.200–0.240 for the models themselves. They were likely trained from different initialisations; weight averaging will likely fail. (hint)",
    );
  });

  it("five models where one is outside: one line naming it", () => {
    const warnings = basinWarnings(
      allPairs(5, (a, b) => a !== 4 && b !== 4),
      names(5),
      HINT,
    );
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.equal(
      warnings[0],
      "m5 does not seem to share a basin with the other 4 models (m1, m2, m3 and m4): halfway between its weights and theirs the loss is 0.404–0.407, " +
        "against 0.240 for it and 0.200–0.230 for the others. It was likely trained from another initialisation, or moved far from the others by its training; averaging it in will likely hurt. (hint)",
    );
  });

  it("two clusters outside the main one: two lines", () => {
    // m1–m3 share a basin, m4 and m5 share one of their own, m6 shares none.
    const cluster = (m: number) => (m < 3 ? 0 : m < 5 ? 1 : 2);
    const warnings = basinWarnings(
      allPairs(6, (a, b) => cluster(a) === cluster(b)),
      names(6),
      HINT,
    );
    assert.equal(warnings.length, 2, warnings.join("\n"));
    assert.match(
      warnings[0]!,
      /^m4 and m5 share a basin with each other but not with the other 4 models \(m1, m2, m3 and m6\): halfway between their weights and theirs/,
    );
    assert.match(warnings[1]!, /^m6 does not seem to share a basin with the other 5 models \(m1, m2, m3 and 2 more\)/);
    assert.ok(warnings.every((w) => w.endsWith(HINT)));
  });

  it("names once a model apart from several others that still shares a basin with one (a fine-tune moved far)", () => {
    // Seven fine-tunes of one start; m6 was trained with a too-high learning rate and stays near m7 only.
    const warnings = basinWarnings(
      allPairs(7, (a, b) => !(a === 5 || b === 5) || a === 6 || b === 6),
      names(7),
      HINT,
    );
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(
      warnings[0]!,
      /^m6 does not seem to share a basin with 5 of the other 6 models \(m1, m2, m3 and 2 more\): halfway between its weights and theirs the loss is 0\.405–0\.409, against 0\.250 for it and 0\.200–0\.240 for them\./,
    );
  });

  it("keeps the pair's own wording for two models", () => {
    const warnings = basinWarnings([pair(0, 1, true)], names(2), HINT);
    assert.deepEqual(warnings, [
      "m1 and m2 do not seem to share a basin: halfway between their weights the loss is 0.400, against 0.200 and 0.210 for the models themselves. " +
        "They were likely trained from different initialisations; weight averaging will likely fail. (hint)",
    ]);
  });

  it("names the pairs inside a cluster that share none although their cluster links them", () => {
    // m1~m3, m2~m3 (so one cluster), but m1 and m2 apart; and m3, m4 apart though linked through m1.
    const pairs = [
      pair(0, 1, true),
      pair(0, 2, false),
      pair(1, 2, false),
      pair(0, 3, false),
      pair(1, 3, false),
      pair(2, 3, true),
    ];
    const warnings = basinWarnings(pairs, names(4), HINT);
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(
      warnings[0]!,
      /^These pairs do not seem to share a basin: m1 and m2; and m3 and m4\. Halfway between their weights the loss is 0\.400/,
    );
  });

  it("loses the command-line hint for a front end that offers alignment itself, and nothing else", () => {
    const warnings = [...basinWarnings([pair(0, 1, true)], names(2), ALIGN_HINT), "another warning"];
    const shown = withoutAlignHint(warnings);
    assert.ok(warnings[0]!.includes("--align"));
    assert.ok(!shown[0]!.includes("--align"));
    assert.equal(shown[0], warnings[0]!.slice(0, -ALIGN_HINT.length));
    assert.equal(shown[1], "another warning");
  });
});

describe("core/report/basin: basinGroups", () => {
  it("joins models through pairs that share a basin, counting an unmeasured pair as shared", () => {
    const groups = basinGroups(
      ["a", "b", "c", "d"],
      [
        { a: "a", b: "d", high: true },
        { a: "b", b: "d", high: true },
        { a: "c", b: "d", high: true },
      ],
    );
    assert.deepEqual(groups.main, ["a", "b", "c"]);
    assert.deepEqual(groups.apart, [["d"]]);
    assert.equal(groups.none, false);
    assert.deepEqual(groups.inside, []);
  });
});
