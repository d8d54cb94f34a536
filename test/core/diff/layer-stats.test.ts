import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { layerStats, relativeChange, tensorMoments } from "../../../src/core/diff/layer-stats.js";
import { openModel } from "../../../src/core/formats/registry.js";

const real = join(import.meta.dirname, "..", "..", "fixtures", "real-models");
const lenetA = join(real, "tensorspace-converter", "tfjs_lenet", "a_examples_rawModel", "mnist.json");
const lenetB = join(real, "tensorspace-converter", "tfjs_lenet", "b_test_model", "mnist.json");

describe("core/diff/layer-stats", () => {
  it("computes mean, population std and L2 norm", () => {
    const m = tensorMoments(new Float32Array([1, 2, 3, 4]));
    assert.equal(m.mean, 2.5);
    assert.ok(Math.abs(m.std - Math.sqrt(1.25)) < 1e-12);
    assert.ok(Math.abs(m.l2 - Math.sqrt(30)) < 1e-12);
  });

  it("measures the change relative to the reference's norm", () => {
    assert.equal(relativeChange(new Float32Array([3, 4]), new Float32Array([3, 4])), 0);
    assert.ok(Math.abs(relativeChange(new Float32Array([0, 0]), new Float32Array([3, 4])) - 1) < 1e-12);
    assert.equal(relativeChange(new Float32Array([3, 4]), new Float32Array([0, 0])), 5);
  });

  it("reads two real models tensor by tensor and agrees with a direct computation", async () => {
    const stats = await layerStats(lenetB, lenetA);
    const a = await openModel(lenetA);
    const b = await openModel(lenetB);
    try {
      assert.equal(stats.length, b.manifest.tensors.length);
      for (const s of stats) {
        const tb = (await b.readTensor(s.name, { float32: true })).data as Float32Array;
        const ta = (await a.readTensor(s.name, { float32: true })).data as Float32Array;
        let sum = 0;
        for (const v of tb) sum += v;
        assert.ok(Math.abs(s.mean - sum / tb.length) < 1e-9, `${s.name} mean`);
        assert.ok(Math.abs(s.relativeChange! - relativeChange(tb, ta)) < 1e-12, `${s.name} change`);
      }
      assert.ok(
        stats.some((s) => s.relativeChange! > 0),
        "two different trainings differ",
      );
    } finally {
      await a.close();
      await b.close();
    }
    const self = await layerStats(lenetA, lenetA);
    assert.equal(self.length, stats.length, "a line per tensor");
    assert.ok(self.every((s) => s.relativeChange === 0));
  });

  it("refuses a reference that cannot be merged with the model, naming both", async () => {
    const balance1 = join(real, "tfjs-examples", "balance_pr447", "model1", "model.json");
    await assert.rejects(layerStats(lenetA, balance1), /cannot be merged/);
  });

  it("says a reference's different input in the model's shape words, [batch, …] as the viewer writes it", async () => {
    // balance_pr447/model1 (Dense 2-16-3) rewritten with 3 inputs and other layer names (so the models are compared
    // by structure, which looks at the inputs first); its weights are zeros.
    const balance1 = join(real, "tfjs-examples", "balance_pr447", "model1", "model.json");
    const dir = mkdtempSync(join(tmpdir(), "model-soup-layer-stats-"));
    try {
      const text = readFileSync(balance1, "utf8")
        .replace('"batch_input_shape":[null,2]', '"batch_input_shape":[null,3]')
        .replace('"shape":[2,16]', '"shape":[3,16]')
        .replaceAll("dense_Dense1", "first")
        .replaceAll("dense_Dense2", "second");
      writeFileSync(join(dir, "model.json"), text);
      writeFileSync(join(dir, "model.weights.bin"), Buffer.alloc(4 * (3 * 16 + 16 + 16 * 3 + 3)));
      await assert.rejects(layerStats(join(dir, "model.json"), balance1), (error: Error) => {
        assert.match(error.message, /cannot be merged: input 1 has shape \[batch, 3\] in .+ but \[batch, 2\] in /);
        assert.doesNotMatch(error.message, /\?|null/);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
