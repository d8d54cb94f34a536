import assert from "node:assert/strict";
import { ALIGN_HINT, basinWarnings, withoutAlignHint, type BarrierPair } from "../../../src/core/report/basin.js";

const HINT = " (hint)";
const names = ["m1", "m2", "m3", "m4"];

function pair(a: number, b: number, high: boolean, lossMidpoint = 0.4): BarrierPair {
  return { a, b, lossA: 0.2 + a / 100, lossB: 0.2 + b / 100, lossMidpoint, high };
}

describe("core/report/basin: the basin warnings", () => {
  it("says nothing when every pair shares a basin", () => {
    assert.deepEqual(basinWarnings([pair(0, 1, false), pair(0, 2, false)], names, HINT), []);
  });

  it("names the one model that shares no basin with the others, once", () => {
    const pairs = [
      pair(0, 1, false),
      pair(0, 2, false),
      pair(0, 3, true, 0.35),
      pair(1, 2, false),
      pair(1, 3, true, 0.37),
      pair(2, 3, true, 0.36),
    ];
    const warnings = basinWarnings(pairs, names, HINT);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^m4 does not seem to share a basin with 3 of the other 3 models \(m1, m2, m3\)/);
    assert.match(warnings[0]!, /the loss is 0\.350–0\.370, against 0\.230 for it and 0\.200–0\.220 for them/);
    assert.ok(warnings[0]!.endsWith(HINT));
  });

  it("warns per pair when no model is in every such pair", () => {
    const pairs = [pair(0, 1, true), pair(2, 3, true), pair(0, 2, false)];
    const warnings = basinWarnings(pairs, names, HINT);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /^m1 and m2 do not seem to share a basin/);
    assert.match(warnings[1]!, /^m3 and m4 do not seem to share a basin/);
    assert.ok(warnings.every((w) => w.endsWith(HINT)));
  });

  it("keeps the pair's own wording for a single pair", () => {
    const warnings = basinWarnings([pair(0, 1, true)], names, HINT);
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0]!,
      /^m1 and m2 do not seem to share a basin: halfway between their weights the loss is 0\.400/,
    );
  });

  it("loses the command-line hint for a front end that offers alignment itself, and nothing else", () => {
    const warnings = [...basinWarnings([pair(0, 1, true)], names, ALIGN_HINT), "another warning"];
    const shown = withoutAlignHint(warnings);
    assert.ok(warnings[0]!.includes("--align"));
    assert.ok(!shown[0]!.includes("--align"));
    assert.equal(shown[0], warnings[0]!.slice(0, -ALIGN_HINT.length));
    assert.equal(shown[1], "another warning");
  });
});
