import assert from "node:assert/strict";
import type { MergeConfig } from "../../src/protocol/panel.js";
import { chosenBase, resultBase, settingsText } from "../../webview/merge-settings.js";

const ingredients = ["/m/a/model.json", "/m/b/model.json", "/m/c/model.json"].map((path) => ({
  path,
  include: true,
  coefficient: 1,
}));
const config = (over: Partial<MergeConfig>): MergeConfig => ({ ingredients, ...over }) as unknown as MergeConfig;
const labelOf = (path: string) => path.split("/").at(-2)!;

describe("webview/merge-settings", () => {
  it("says the settings a TIES merge ran with: the chosen base, density and λ", () => {
    const ties = config({ method: "ties", base: "/m/b/model.json", params: { density: 0.4, lambda: 0.75 } });
    assert.equal(settingsText("ties", ties, labelOf), "none: TIES with base b, density 0.4, λ 0.75");
  });

  it("takes the defaults for settings left as they are, and the first included model as the base", () => {
    const rows = ingredients.map((r, i) => ({ ...r, include: i > 0 }));
    const ta = config({ method: "task_arithmetic", ingredients: rows, base: "/m/a/model.json" });
    assert.equal(chosenBase(ta), "/m/b/model.json", "an excluded base is not the base");
    assert.equal(settingsText("task_arithmetic", ta, labelOf), "none: Task arithmetic with base b, λ 1");
  });

  it("says a data-aware merge weighs by the data, and claims no settings for a configuration that changed", () => {
    assert.equal(
      settingsText("regmean", config({ method: "regmean" }), labelOf),
      "none (weights from statistics of the data)",
    );
    assert.equal(settingsText("ties", config({ method: "slerp" }), labelOf), "none");
    assert.equal(
      settingsText("model_stock", config({ method: "model_stock" }), labelOf),
      "none: Model Stock with base a",
    );
  });

  it("names the base of the result's merge only for a method that takes one and the configuration it came from", () => {
    const ties = config({ method: "ties", base: "/m/c/model.json" });
    assert.equal(resultBase("ties", ties), "/m/c/model.json");
    assert.equal(resultBase("linear", config({ method: "manual" })), undefined);
    assert.equal(resultBase("ties", config({ method: "uniform" })), undefined);
  });
});
