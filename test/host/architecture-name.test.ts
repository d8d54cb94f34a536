import assert from "node:assert/strict";
import { join } from "node:path";
import { readManifest } from "../../src/core/formats/registry.js";
import { architectureName } from "../../src/host/architecture-name.js";

const checkpoints = join(import.meta.dirname, "..", "fixtures", "real-families", "checkpoints");

describe("host/architecture-name", () => {
  it("names weights-only Keras checkpoints from their kernels' shapes, as their full model is named", async () => {
    const weightsOnly = await readManifest(join(checkpoints, "weights.07.h5"));
    assert.equal(weightsOnly.architecture, undefined, "the checkpoint records no architecture");
    const full = await readManifest(join(checkpoints, "model.h5"));
    assert.equal(architectureName(weightsOnly), "Dense 12-32-16-2");
    assert.equal(architectureName(full), "Dense 12-32-16-2");
  });

  it("names tensors without kernels by their count", () => {
    const tensors = [
      { name: "w", shape: [3, 4], dtype: "float32" as const, layer: "" },
      { name: "b", shape: [4], dtype: "float32" as const, layer: "" },
    ];
    assert.equal(architectureName({ tensors }), "2 tensors");
  });
});
