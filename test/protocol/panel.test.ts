import assert from "node:assert/strict";
import { DEFAULT_CONFIG, validateFromWebview, type MergeConfig } from "../../src/protocol/panel.js";

const config: MergeConfig = {
  ...DEFAULT_CONFIG,
  ingredients: [
    { path: "/w/a/model.json", include: true, coefficient: 1 },
    { path: "/w/b/model.json", include: false, coefficient: 0.5 },
  ],
  data: { path: "/w/data.csv", label: "digit" },
};

describe("protocol/panel validateFromWebview", () => {
  it("accepts every well-formed message", () => {
    for (const message of [
      { type: "ready" },
      { type: "pickData" },
      { type: "pickData", folder: true },
      { type: "pickData", folder: false },
      { type: "setData", path: "/w/data.csv" },
      { type: "start", config },
      { type: "start", config: { ...config, method: "regmean" } },
      { type: "start", config: { ...config, method: "fisher" } },
      { type: "cancel" },
      { type: "save" },
      { type: "save", coefficients: [0.2, 0.8] },
      { type: "save", coefficients: { dense: [0.5, 0.5] } },
      { type: "showDiff", ingredient: "/w/a/model.json" },
      { type: "openSaved", what: "reveal" },
      { type: "openSaved", what: "recipe" },
      { type: "pickTestData" },
      { type: "pickArchitecture" },
      { type: "clear", what: "test" },
      { type: "clear", what: "architecture" },
      { type: "start", config: { ...config, loss: "crossentropy", architecture: "/w/full.keras" } },
      { type: "start", config: { ...config, data: { path: "/w/data.csv", test: "/w/held-out.csv" } } },
    ]) {
      assert.deepEqual(validateFromWebview(message), message);
    }
  });

  it("refuses unknown types, extra fields and wrong field types, saying what is wrong", () => {
    const cases: [unknown, RegExp][] = [
      [null, /unknown message/],
      [{ type: "runShell", command: "rm" }, /unknown message/],
      [{ type: "cancel", extra: 1 }, /message\.extra is not expected/],
      [{ type: "setData", path: 42 }, /message\.path must be a string/],
      [{ type: "pickData", folder: "yes" }, /message\.folder must be true or false/],
      [{ type: "start", config: { ...config, method: "magic" } }, /config\.method must be one of/],
      [{ type: "start", config: { ...config, steps: 1.5 } }, /config\.steps must be an integer/],
      [{ type: "start", config: { ...config, learningRate: Number.NaN } }, /config\.learningRate must be a number/],
      [
        { type: "start", config: { ...config, ingredients: [{ path: "/a", include: "yes", coefficient: 1 }] } },
        /ingredients\[0\]\.include/,
      ],
      [{ type: "start", config: { ...config, validationFraction: 0.5, testFraction: 0.5 } }, /leave no data/],
      [{ type: "save", coefficients: [1, Number.POSITIVE_INFINITY] }, /finite numbers/],
      [{ type: "save", coefficients: "0.5" }, /list of numbers or a map/],
      [{ type: "openSaved", what: "delete" }, /message\.what must be one of reveal, recipe/],
    ];
    for (const [message, expected] of cases) {
      const result = validateFromWebview(message);
      assert.ok(result instanceof Error, `refused: ${JSON.stringify(message)}`);
      assert.match(result.message, expected);
    }
  });
});
