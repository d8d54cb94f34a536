import assert from "node:assert/strict";
import { join } from "node:path";
import { readManifest } from "../../src/core/formats/registry.js";
import { layerOutputShape, viewerInit } from "../../src/host/viewer-model.js";

const real = join(import.meta.dirname, "..", "fixtures", "real-models");

describe("host/viewer-model (what the model viewer shows, from headers only)", () => {
  it("infers a LeNet's output shapes from its layer configs and counts each layer's parameters", async () => {
    const manifest = await readManifest(
      join(real, "tensorspace-converter", "tfjs_lenet", "a_examples_rawModel", "mnist.json"),
    );
    const init = viewerInit(manifest, 1234);
    assert.equal(init.parameters, 61_706);
    assert.equal(
      init.layers.reduce((s, l) => s + l.parameters, 0),
      61_706,
      "layer parameters add up to the model's",
    );
    const shapes = init.layers.map((l) => [l.className, l.outputShape]);
    assert.deepEqual(shapes.find(([c]) => c === "ZeroPadding2D")?.[1], [null, 32, 32, 1]);
    assert.deepEqual(shapes.find(([c]) => c === "Flatten")?.[1], [null, 400]);
    assert.deepEqual(
      init.layers.filter((l) => l.className === "Dense").map((l) => l.outputShape),
      [
        [null, 120],
        [null, 84],
        [null, 10],
      ],
    );
    assert.equal(init.tensors.length, manifest.tensors.length);
  });

  it("computes convolution and pooling sizes for valid and same padding", () => {
    assert.deepEqual(
      layerOutputShape({ className: "Conv2D", config: { filters: 6, kernel_size: [5, 5], padding: "valid" } }, [
        null,
        28,
        28,
        1,
      ]),
      [null, 24, 24, 6],
    );
    assert.deepEqual(
      layerOutputShape({ className: "Conv2D", config: { filters: 8, kernel_size: 3, strides: 2, padding: "same" } }, [
        null,
        28,
        28,
        1,
      ]),
      [null, 14, 14, 8],
    );
    assert.deepEqual(
      layerOutputShape({ className: "MaxPooling2D", config: { pool_size: [2, 2], padding: "valid" } }, [
        null,
        24,
        24,
        6,
      ]),
      [null, 12, 12, 6],
    );
    assert.deepEqual(layerOutputShape({ className: "Flatten", config: {} }, [null, 4, 4, 16]), [null, 256]);
    assert.equal(
      layerOutputShape({ className: "LSTM", config: { units: 4 } }, [null, 10, 3]),
      undefined,
      "unknown rules give no shape, not a guess",
    );
  });

  it("shows a Keras 3 model's vars/<i> by their Keras names and a structure match's counterparts", async () => {
    const manifest = await readManifest(
      join(import.meta.dirname, "..", "fixtures", "real-families", "softmax", "keras3", "model_fold_1.keras"),
    );
    const init = viewerInit(manifest, 0, undefined, {
      mapping: [{ from: "layers/dense/vars/0", to: "dense_7/kernel:0" }],
    });
    const byName = new Map(init.tensors.map((t) => [t.name, t]));
    assert.equal(byName.get("layers/dense/vars/0")?.readableName, "dense/kernel");
    assert.equal(byName.get("layers/batch_normalization/vars/2")?.readableName, "batch_normalization/moving_mean");
    assert.equal(byName.get("layers/dense/vars/0")?.matches, "dense_7/kernel:0");
    assert.equal(byName.get("layers/dense/vars/1")?.matches, undefined);
  });
});
