import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compareFiles, compareTensorValues, matchTensors } from "../../../src/core/diff/compare-files.js";
import { tensorDifference } from "../../../src/core/diff/tensor-difference.js";
import { openModel, readManifest } from "../../../src/core/formats/registry.js";
import { writeSafetensors } from "../../support/safetensors-writer.js";

const fixtures = join(import.meta.dirname, "..", "..", "fixtures");
const kfold = join(fixtures, "real-families", "softmax", "keras3");
const lenet = join(fixtures, "real-models", "tensorspace-converter", "tfjs_from_keras_lenet");
const f32 = (...v: number[]) => Float32Array.from(v);
const close = (actual: number | null, expected: number, what: string) =>
  assert.ok(actual !== null && Math.abs(actual - expected) < 1e-9, `${what}: ${actual} against ${expected}`);

describe("core/diff/compare-files", () => {
  it("computes relative difference, cosine and largest absolute difference by hand", () => {
    // a = [3, 4], b = [4, 3]: b − a = [1, −1], ‖b − a‖ = √2, ‖a‖ = 5, ⟨a, b⟩ = 24, ‖a‖‖b‖ = 25.
    const d = tensorDifference(f32(3, 4), f32(4, 3));
    close(d.relativeDifference, Math.SQRT2 / 5, "relative difference");
    close(d.cosine, 24 / 25, "cosine");
    close(d.maxAbsDifference, 1, "max abs");
    // Opposite tensors: cosine −1, relative difference 2.
    const o = tensorDifference(f32(1, -2), f32(-1, 2));
    close(o.cosine, -1, "opposite cosine");
    close(o.relativeDifference, 2, "opposite relative difference");
  });

  it("defines the zero cases: equal zeros are identical, one zero tensor is orthogonal", () => {
    const zeros = tensorDifference(f32(0, 0), f32(0, 0));
    assert.deepEqual([zeros.relativeDifference, zeros.cosine, zeros.maxAbsDifference], [0, 1, 0]);
    const one = tensorDifference(f32(0, 0), f32(3, 4));
    assert.deepEqual([one.relativeDifference, one.cosine, one.maxAbsDifference], [5, 0, 4]);
    assert.throws(() => tensorDifference(f32(1), f32(1, 2)), /1 and 2 values/);
  });

  it("draws both histograms over the same bins", () => {
    // Shared range [0, 3] in 3 bins of width 1; the top value falls in the last bin.
    const c = compareTensorValues(f32(0, 1), f32(2, 3), 3);
    assert.equal(c.histogramMin, 0);
    assert.equal(c.histogramMax, 3);
    assert.deepEqual(c.a.histogram, [1, 1, 0]);
    assert.deepEqual(c.b.histogram, [0, 0, 2]);
    assert.deepEqual([c.a.mean, c.b.mean], [0.5, 2.5]);
  });

  it("says null where a non-finite value leaves a figure undefined, and counts those values", () => {
    const c = compareTensorValues(f32(NaN, 1), f32(2, 3), 2);
    assert.equal(c.relativeDifference, null);
    assert.equal(c.cosine, null);
    assert.equal(c.maxAbsDifference, null);
    assert.equal(c.a.nonFinite, 1);
    assert.deepEqual(c.a.histogram, [1, 0], "the finite value is still drawn");
  });

  it("compares two files tensor by tensor, pooling every tensor into the overall figures", async () => {
    const dir = mkdtempSync(join(tmpdir(), "model-soup-compare-"));
    try {
      const a = join(dir, "a.safetensors");
      const b = join(dir, "b.safetensors");
      await writeSafetensors(a, { w: { shape: [2], data: f32(3, 4) }, bias: { shape: [1], data: f32(1) } });
      await writeSafetensors(b, { w: { shape: [2], data: f32(4, 3) }, bias: { shape: [1], data: f32(1) } });
      const c = await compareFiles(a, b, { bins: 4 });
      assert.equal(c.matchedBy, "name");
      const [w, bias] = ["w", "bias"].map((name) => c.tensors.find((t) => t.name === name && t.nameB === name)!);
      close(w!.relativeDifference, Math.SQRT2 / 5, "w");
      assert.equal(bias!.relativeDifference, 0);
      assert.equal(c.identical, 1);
      // Overall: ‖(1, −1, 0)‖ / ‖(3, 4, 1)‖ = √2 / √26; ⟨a, b⟩ = 25 over ‖a‖‖b‖ = 26.
      close(c.overall.relativeDifference, Math.SQRT2 / Math.sqrt(26), "overall relative difference");
      close(c.overall.cosine, 25 / 26, "overall cosine");
      close(c.overall.maxAbsDifference, 1, "overall max abs");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("agrees with a direct computation on two real k-fold models, and finds a file equal to itself", async () => {
    const [pathA, pathB] = [join(kfold, "model_fold_1.keras"), join(kfold, "model_fold_2.keras")];
    const c = await compareFiles(pathA, pathB);
    const [a, b] = [await openModel(pathA), await openModel(pathB)];
    try {
      assert.equal(c.tensors.length, a.manifest.tensors.length);
      for (const t of c.tensors) {
        const va = (await a.readTensor(t.name, { float32: true })).data as Float32Array;
        const vb = (await b.readTensor(t.nameB, { float32: true })).data as Float32Array;
        let dot = 0;
        let na = 0;
        let nb = 0;
        let nd = 0;
        let max = 0;
        for (let i = 0; i < va.length; i++) {
          dot += va[i]! * vb[i]!;
          na += va[i]! ** 2;
          nb += vb[i]! ** 2;
          nd += (vb[i]! - va[i]!) ** 2;
          max = Math.max(max, Math.abs(vb[i]! - va[i]!));
        }
        close(t.relativeDifference, Math.sqrt(nd / na), `${t.name} relative difference`);
        close(t.cosine, dot / Math.sqrt(na * nb), `${t.name} cosine`);
        close(t.maxAbsDifference, max, `${t.name} max abs`);
        assert.equal(
          t.a.histogram.reduce((s, n) => s + n, 0),
          va.length,
          `${t.name}: every value of a is in a bin`,
        );
        assert.equal(
          t.b.histogram.reduce((s, n) => s + n, 0),
          vb.length,
          `${t.name}: every value of b is in a bin`,
        );
      }
      assert.ok(c.overall.relativeDifference! > 0.1, "folds trained from scratch differ");
    } finally {
      await a.close();
      await b.close();
    }
    const self = await compareFiles(pathA, pathA);
    assert.equal(self.identical, self.tensors.length);
    assert.ok(self.tensors.every((t) => t.relativeDifference === 0 && t.cosine === 1));
  });

  it("matches by structure when two trainings name their layers differently, and says so", async () => {
    const a = join(lenet, "keras_converted", "model.json");
    const b = join(lenet, "tfkeras_converted", "model.json");
    const { matchedBy, mapping } = matchTensors(await readManifest(a), await readManifest(b));
    assert.equal(matchedBy, "structure");
    assert.equal(mapping.get("Conv2D_1/kernel"), "conv_1/kernel");
    const c = await compareFiles(a, b);
    assert.equal(c.matchedBy, "structure");
    assert.ok(c.tensors.some((t) => t.name !== t.nameB));
  });

  it("refuses files of two architectures in one line naming both", async () => {
    const a = join(kfold, "model_fold_1.keras");
    const b = join(fixtures, "keras3", "mlp_a.keras");
    await assert.rejects(compareFiles(a, b), (error: Error) => {
      assert.ok(error.message.includes(a) && error.message.includes(b), error.message);
      assert.match(error.message, /are not of one architecture: tensor .* has shape \[12, 32\] .* but \[8, 16\]/);
      assert.ok(!error.message.includes("\n"));
      return true;
    });
  });
});
