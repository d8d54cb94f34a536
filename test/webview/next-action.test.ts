import assert from "node:assert/strict";
import { resultActions } from "../../webview/next-action.js";

const label = (p: string) => p.slice(3);

describe("webview/next-action (the action the verdict implies)", () => {
  it("makes Save the primary action when a merge won", () => {
    const a = resultActions({ kind: "merge-wins", best: "/m/a.keras" }, label);
    assert.equal(a.primary, "save");
    assert.equal(a.best, undefined);
    assert.equal(a.runWithout, undefined);
  });

  it("makes opening the best ingredient primary when no merge beat it", () => {
    const a = resultActions({ kind: "ingredient-wins", best: "/m/e.keras" }, label);
    assert.equal(a.primary, "open-best");
    assert.equal(a.best, "/m/e.keras");
  });

  it("offers to run again without the harmful ingredients, named", () => {
    const a = resultActions(
      {
        kind: "ingredient-wins",
        best: "/m/e.keras",
        harmful: { paths: ["/m/b.keras", "/m/d.keras"], why: "the greedy soup left out b.keras and d.keras" },
      },
      label,
    );
    assert.deepEqual(a.runWithout, {
      label: "Run Again without b.keras, d.keras",
      paths: ["/m/b.keras", "/m/d.keras"],
      why: "the greedy soup left out b.keras and d.keras",
    });
  });

  it("without labels names no winner: Save stays primary", () => {
    assert.equal(resultActions({ kind: "no-labels", best: "/m/a.keras" }, label).primary, "save");
    assert.equal(resultActions(undefined, label).primary, "save");
  });
});
