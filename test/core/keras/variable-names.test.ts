import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { readManifest } from "../../../src/core/formats/registry.js";
import { kerasVariableNames } from "../../../src/core/keras/variable-names.js";
import type { LayerSpec } from "../../../src/core/model.js";

const fixtures = join(import.meta.dirname, "..", "..", "fixtures");
const keras3Files = [
  ...readdirSync(join(fixtures, "keras3"))
    .filter((f) => f.endsWith(".keras"))
    .map((f) => join(fixtures, "keras3", f)),
  ...["softmax", "sigmoid"].flatMap((family) =>
    readdirSync(join(fixtures, "real-families", family, "keras3")).map((f) =>
      join(fixtures, "real-families", family, "keras3", f),
    ),
  ),
];

/** The rank each variable has in these models: a wrong index-to-name mapping puts a kernel where a bias goes. */
const RANK: Record<string, (rank: number) => boolean> = {
  kernel: (r) => r >= 2,
  bias: (r) => r === 1,
  gamma: (r) => r === 1,
  beta: (r) => r === 1,
  moving_mean: (r) => r === 1,
  moving_variance: (r) => r === 1,
};

describe("core/keras/variable-names (Keras 3 vars/<i> shown as Keras names them)", () => {
  it("names every variable of the Keras 3 fixtures, each with the rank of what it names", async () => {
    assert.ok(keras3Files.length >= 14);
    for (const file of keras3Files) {
      const manifest = await readManifest(file);
      const names = kerasVariableNames(manifest.architecture!.layers);
      for (const t of manifest.tensors) {
        const readable = names.get(t.name);
        assert.ok(readable, `${file}: ${t.name} has a readable name`);
        assert.doesNotMatch(readable, /vars|layers\//, `${file}: ${readable}`);
        const variable = readable.split("/").at(-1)!;
        assert.ok(RANK[variable]?.(t.shape.length), `${file}: ${t.name} → ${readable} with shape [${t.shape}]`);
      }
    }
  });

  it("maps the real k-fold model's Dense and BatchNormalization variables by index", async () => {
    const manifest = await readManifest(join(fixtures, "real-families", "softmax", "keras3", "model_fold_1.keras"));
    const names = kerasVariableNames(manifest.architecture!.layers);
    assert.equal(names.get("layers/dense/vars/0"), "dense/kernel");
    assert.equal(names.get("layers/dense/vars/1"), "dense/bias");
    assert.equal(names.get("layers/batch_normalization/vars/0"), "batch_normalization/gamma");
    assert.equal(names.get("layers/batch_normalization/vars/2"), "batch_normalization/moving_mean");
    assert.equal(names.get("layers/batch_normalization_1/vars/3"), "batch_normalization_1/moving_variance");
  });

  it("names a nested model's layers under its path", async () => {
    const manifest = await readManifest(join(fixtures, "keras3", "nested.keras"));
    const names = kerasVariableNames(manifest.architecture!.layers);
    assert.equal(names.get("layers/sequential/layers/dense_1/vars/0"), "sequential/dense_1/kernel");
    assert.equal(names.get("layers/dense/vars/1"), "dense/bias");
  });

  it("leaves out gamma or beta as the config says (center/scale off), and keeps names that do not fit", () => {
    const bn = (config: Record<string, unknown>, count: number): LayerSpec => ({
      name: "bn",
      className: "BatchNormalization",
      config,
      inbound: [],
      weights: Array.from({ length: count }, (_, i) => `layers/batch_normalization/vars/${i}`),
    });
    const noCenter = kerasVariableNames([bn({ center: false }, 3)]);
    assert.deepEqual(
      [0, 1, 2].map((i) => noCenter.get(`layers/batch_normalization/vars/${i}`)),
      ["batch_normalization/gamma", "batch_normalization/moving_mean", "batch_normalization/moving_variance"],
    );
    const noScale = kerasVariableNames([bn({ scale: false }, 3)]);
    assert.equal(noScale.get("layers/batch_normalization/vars/0"), "batch_normalization/beta");
    // Four variables where the config says three: not guessed.
    assert.equal(kerasVariableNames([bn({ center: false }, 4)]).size, 0);
  });
});
