import assert from "node:assert/strict";
import { join } from "node:path";
import { commonFolder, defaultSaveTarget } from "../../src/host/save-target.js";

describe("host/save-target (where a merge is saved by default)", () => {
  const digits = [1, 2, 3].map((i) => join("/w", "samples", "digits", "models", `ingredient-${i}`, "model.json"));

  it("puts TF.js merges in a sibling of the ingredients' folder, never inside it", () => {
    assert.equal(commonFolder(digits), join("/w", "samples", "digits", "models"));
    const target = defaultSaveTarget(digits);
    assert.equal(target, join("/w", "samples", "digits", "models-soup", "model.json"));
    assert.ok(!target.startsWith(join("/w", "samples", "digits", "models") + "/"), "not below the ingredients' folder");
  });

  it("keeps the format of single-file models", () => {
    const h5 = ["a.h5", "b.h5"].map((f) => join("/w", "checkpoints", "keras-lenet", f));
    assert.equal(defaultSaveTarget(h5), join("/w", "checkpoints", "keras-lenet-soup", "merged.h5"));
    const st = ["x/model.safetensors.index.json", "y/model.safetensors.index.json"].map((f) => join("/w", "ft", f));
    assert.equal(defaultSaveTarget(st), join("/w", "ft-soup", "merged.safetensors"));
  });

  it("does not mistake a shared name prefix for a shared folder", () => {
    assert.equal(commonFolder([join("/w", "run-1", "m.keras"), join("/w", "run-10", "m.keras")]), "/w");
  });
});
