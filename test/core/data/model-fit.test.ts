import assert from "node:assert/strict";
import { join } from "node:path";
import { checkDataFitsModel, modelInterface } from "../../../src/core/data/model-fit.js";
import type { Dataset } from "../../../src/core/data/dataset.js";
import { readManifest } from "../../../src/core/formats/registry.js";
import { ModelFileError } from "../../../src/core/errors.js";

const DIGITS_MODEL = join("samples", "digits", "models", "ingredient-1", "model.json");
const LENET_H5 = join("test", "fixtures", "real-models", "tensorspace-converter", "keras_h5_lenet");

function rows(count: number, features: number, labels: number[]): Dataset {
  return {
    x: new Float32Array(count * features),
    xShape: [count, features],
    y: Int32Array.from(labels),
    yShape: [count],
    task: "classification",
    source: "data.csv",
    notes: [],
  };
}

describe("checkDataFitsModel (the data check when data is chosen)", () => {
  it("reads the digits MLP's input [batch, 64] and its 10 output classes from model.json", async () => {
    const shape = modelInterface(await readManifest(DIGITS_MODEL));
    assert.deepEqual(shape, { inputShape: [null, 64], outputShape: [null, 10] });
  });

  it("flags 63 feature columns for a 64-input model, naming the file", async () => {
    const manifest = await readManifest(DIGITS_MODEL);
    assert.throws(
      () => checkDataFitsModel(rows(3, 63, [0, 1, 2]), manifest),
      (e: unknown) =>
        e instanceof ModelFileError &&
        e.message === "data.csv: rows have 63 features; the model expects input [batch, 64] (64 values)",
    );
  });

  it("flags a class beyond the model's output units", async () => {
    const manifest = await readManifest(DIGITS_MODEL);
    assert.throws(
      () => checkDataFitsModel(rows(2, 64, [3, 12]), manifest),
      /sample 1 has class 12, beyond the model's 10 output units/,
    );
  });

  it("accepts data that fits", async () => {
    const checked = checkDataFitsModel(rows(2, 64, [3, 9]), await readManifest(DIGITS_MODEL));
    assert.ok(checked);
    assert.deepEqual(checked.notes, []);
  });

  it("reads a Keras 2 .h5 LeNet's image input", async () => {
    const { readdirSync } = await import("node:fs");
    const file = readdirSync(LENET_H5).find((f) => f.endsWith(".h5"))!;
    const shape = modelInterface(await readManifest(join(LENET_H5, file)));
    assert.ok(shape, "the .h5 declares its input");
    assert.equal(shape.inputShape[0], null);
    assert.ok(shape.inputShape.length >= 3, `an image input: ${JSON.stringify(shape.inputShape)}`);
    assert.deepEqual(shape.outputShape, [null, 10]);
  });

  it("says nothing for a safetensors file (no architecture)", () => {
    assert.equal(modelInterface({}), undefined);
  });
});
