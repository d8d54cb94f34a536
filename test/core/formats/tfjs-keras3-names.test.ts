/**
 * TF.js models converted from Keras 3 (tensorflowjs converter with Keras 3.10) name weights by their path from the
 * model ("sequential/dense/kernel") and list them in another order than the layers. No such converted file is
 * among the fixtures, so this builds one from a real TF.js model exactly that way: names prefixed by the model's
 * name, manifest entries and shard bytes reordered together.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { tfjsLayersFormat } from "../../../src/core/formats/tfjs-layers/index.js";
import { readAllTensors } from "../../support/model-files.js";

const ORIGINAL = resolve(import.meta.dirname, "..", "..", "..", "samples", "digits", "models", "ingredient-1");

describe("TF.js models converted from Keras 3 (weights named by their path from the model)", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "tfjs-keras3-"));
    const json = JSON.parse(readFileSync(join(ORIGINAL, "model.json"), "utf8"));
    const bin = readFileSync(join(ORIGINAL, "weights.bin"));
    const modelName: string = json.modelTopology.config.name;
    let offset = 0;
    const parts = json.weightsManifest[0].weights.map((w: { name: string; shape: number[] }) => {
      const bytes = bin.subarray(offset, offset + w.shape.reduce((a, b) => a * b, 1) * 4);
      offset += bytes.length;
      return { w: { ...w, name: `${modelName}/${w.name}` }, bytes };
    });
    const reordered = [5, 1, 3, 0, 4, 2].map((i) => parts[i]);
    json.weightsManifest[0].weights = reordered.map((p: { w: unknown }) => p.w);
    writeFileSync(join(dir, "model.json"), JSON.stringify(json));
    writeFileSync(join(dir, "weights.bin"), Buffer.concat(reordered.map((p: { bytes: Buffer }) => p.bytes)));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("binds every weight to the layer its path names, in the layers' order", async () => {
    const manifest = await tfjsLayersFormat.readManifest(join(dir, "model.json"));
    assert.deepEqual(
      manifest.tensors.map((t) => `${t.layer} ${t.name}`),
      ["hidden1", "hidden1", "hidden2", "hidden2", "output", "output"].map(
        (layer, i) => `${layer} digits_mlp/${layer}/${i % 2 ? "bias" : "kernel"}`,
      ),
    );
    assert.deepEqual(
      manifest.architecture!.layers.map((l) => l.weights.length),
      [2, 2, 2],
    );
  });

  it("reads the same values as the original model, tensor by tensor", async () => {
    const converted = await readAllTensors(join(dir, "model.json"), tfjsLayersFormat);
    const original = await readAllTensors(join(ORIGINAL, "model.json"), tfjsLayersFormat);
    for (const [name, tensor] of original)
      assert.deepEqual(converted.get(`digits_mlp/${name}`)!.data, tensor.data, name);
  });

  it("still refuses a weight that names no layer", async () => {
    const json = JSON.parse(readFileSync(join(dir, "model.json"), "utf8"));
    json.weightsManifest[0].weights[0].name = "other_model/hidden9/kernel";
    const path = join(dir, "bad.json");
    writeFileSync(path, JSON.stringify(json));
    await assert.rejects(tfjsLayersFormat.readManifest(path), /belongs to no layer of the model config/);
  });
});
