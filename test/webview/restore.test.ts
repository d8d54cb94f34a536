import assert from "node:assert/strict";
import { DEFAULT_CONFIG, type MergeConfig } from "../../src/protocol/panel.js";
import { restoredConfig } from "../../webview/restore.js";

const defaults: MergeConfig = {
  ...DEFAULT_CONFIG,
  backend: "auto",
  ingredients: ["/m/a.json", "/m/b.json"].map((path) => ({ path, include: true, coefficient: 1 })),
};

describe("restoredConfig (a reloaded Merge panel page)", () => {
  it("keeps the saved configuration for the same models", () => {
    const saved = { ...defaults, method: "greedy" as const, ingredients: [...defaults.ingredients].reverse() };
    assert.equal(restoredConfig(saved, defaults, "auto"), saved);
  });

  it("falls back to the defaults for a partial configuration (the state a message before init used to leave)", () => {
    assert.equal(restoredConfig({ backend: "wasm" }, defaults, "wasm"), defaults);
    assert.equal(restoredConfig({ ...defaults, ingredients: undefined }, defaults, undefined), defaults);
    assert.equal(restoredConfig(undefined, defaults, undefined), defaults);
  });

  it("falls back to the defaults for other models", () => {
    const saved = {
      ...defaults,
      ingredients: [{ path: "/m/c.json", include: true, coefficient: 1 }, defaults.ingredients[0]!],
    };
    assert.equal(restoredConfig(saved, defaults, undefined), defaults);
  });

  it("takes a backend setting changed while the page was gone", () => {
    const saved = { ...defaults, backend: "cpu" as const };
    assert.equal(restoredConfig(saved, { ...defaults, backend: "wasm" }, "auto").backend, "wasm");
    assert.equal(
      restoredConfig(saved, defaults, "auto").backend,
      "cpu",
      "an unchanged setting keeps the panel's own choice",
    );
  });
});
