import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { resolveOutputTarget } from "../../src/core/io/output-target.js";
import { formatOfExtension } from "../../src/core/io/output-names.js";
import { commonFolder, defaultSaveTarget } from "../../src/host/save-target.js";

describe("host/save-target (where a merge is saved by default)", () => {
  const digits = [1, 2, 3].map((i) => join("/w", "samples", "digits", "models", `ingredient-${i}`, "model.json"));

  it("puts TF.js merges in a sibling of the ingredients' folder, never inside it", () => {
    assert.equal(commonFolder(digits), join("/w", "samples", "digits", "models"));
    const target = defaultSaveTarget(digits);
    assert.equal(target, join("/w", "samples", "digits", "models-soup", "model.json"));
    assert.ok(!target.startsWith(join("/w", "samples", "digits", "models") + "/"), "not below the ingredients' folder");
  });

  it("keeps the format, named as a folder output of it is (core/io/output-names)", () => {
    const h5 = ["a.h5", "b.h5"].map((f) => join("/w", "checkpoints", "keras-lenet", f));
    assert.equal(defaultSaveTarget(h5), join("/w", "checkpoints", "keras-lenet-soup", "model.h5"));
    assert.equal(defaultSaveTarget(["/w/k/a.hdf5", "/w/k/b.hdf5"]), join("/w", "k-soup", "model.h5"));
    assert.equal(defaultSaveTarget(["/w/k/a.keras", "/w/k/b.keras"]), join("/w", "k-soup", "model.keras"));
    assert.equal(
      defaultSaveTarget(["/w/s/a.safetensors", "/w/s/b.safetensors"]),
      join("/w", "s-soup", "model.safetensors"),
    );
    // PyTorch checkpoints are merged into safetensors by default.
    for (const names of [
      ["a.pt", "b.pt"],
      ["a.pth", "b.pth"],
      ["a.ckpt", "b.ckpt"],
    ])
      assert.equal(defaultSaveTarget(names.map((f) => join("/w/p", f))), join("/w", "p-soup", "model.safetensors"));
    assert.equal(
      defaultSaveTarget(["/w/hf/a/pytorch_model.bin", "/w/hf/b/pytorch_model.bin"]),
      join("/w", "hf-soup", "model.safetensors"),
    );
    // TorchScript archives (read by their zip directory) are merged into TorchScript.
    const engine = join("test", "fixtures", "pytorch", "engine");
    assert.equal(
      defaultSaveTarget([join(engine, "mlp_ft0.ts.pt"), join(engine, "mlp_ft1.ts.pt")]),
      join("test", "fixtures", "pytorch", "engine-soup", "model.pt"),
    );
  });

  it("names a sharded safetensors merge by its index, as the writer expects of sharded ingredients", async () => {
    const st = ["x/model.safetensors.index.json", "y/model.safetensors.index.json"].map((f) => join("/w", "ft", f));
    const target = defaultSaveTarget(st);
    assert.equal(target, join("/w", "ft-soup", "model.safetensors.index.json"));
    assert.equal(formatOfExtension(target), "safetensors");
    // The output guard takes it for sharded ingredients (it refused the "merged.safetensors" proposed before).
    const sharded = join(
      "test",
      "fixtures",
      "real-models",
      "safetensors-jl-fixtures",
      "sharded",
      "model.safetensors.index.json",
    );
    const resolved = await resolveOutputTarget(join(tmpdir(), "model-soup-never-written", basename(target)), sharded);
    assert.equal(resolved.form, "file");
    await assert.rejects(
      resolveOutputTarget(join(tmpdir(), "model-soup-never-written", "merged.safetensors"), sharded),
      /index\.json/,
    );
  });

  it("does not mistake a shared name prefix for a shared folder", () => {
    assert.equal(commonFolder([join("/w", "run-1", "m.keras"), join("/w", "run-10", "m.keras")]), "/w");
  });
});
