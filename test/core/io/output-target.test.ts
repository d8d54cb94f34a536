import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { UsageError } from "../../../src/core/errors.js";
import { resolveOutputTarget } from "../../../src/core/io/output-target.js";

const TFJS = "samples/digits/models/ingredient-1/model.json";
const KERAS = "test/fixtures/keras3/mlp_a.keras";
const H5 = "test/fixtures/keras3/mlp_a_legacy.h5";
const SAFETENSORS = "test/fixtures/real-models/safetensors-jl-fixtures/non_sharded/model.safetensors";
const SHARDED = "test/fixtures/real-models/safetensors-jl-fixtures/sharded/model.safetensors.index.json";
const PYTORCH = "test/fixtures/pytorch/mlp_a.pt";

describe("core/io/output-target: what --out means", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-target-"));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("a path with the format's extension is that file, its recipe beside it", async () => {
    const t = await resolveOutputTarget(join(dir, "soup.json"), TFJS);
    assert.deepEqual(
      [t.form, t.model, t.recipe, t.format],
      ["file", join(dir, "soup.json"), join(dir, "soup.recipe.json"), "tfjs-layers"],
    );
    assert.ok(t.siblings!.test("soup.group1-shard1of1.bin") && !t.siblings!.test("group1-shard1of1.bin"));
    assert.equal((await resolveOutputTarget(join(dir, "m.keras"), KERAS)).recipe, join(dir, "m.recipe.json"));
    assert.equal((await resolveOutputTarget(join(dir, "m.hdf5"), H5)).model, join(dir, "m.hdf5"));
    assert.equal(
      (await resolveOutputTarget(join(dir, "m.safetensors"), SAFETENSORS)).model,
      join(dir, "m.safetensors"),
    );
    const sharded = await resolveOutputTarget(join(dir, "big.safetensors.index.json"), SHARDED);
    assert.equal(sharded.recipe, join(dir, "big.recipe.json"));
    assert.ok(sharded.siblings!.test("big-00001-of-00006.safetensors"));
  });

  it("an existing folder, a path ending in / or without extension is a folder holding the model in the inputs' format", async () => {
    const cases: [string, string, string][] = [
      [TFJS, "merged", "model.json"],
      [KERAS, "k", "model.keras"],
      [H5, "h", "model.h5"],
      [SAFETENSORS, "s", "model.safetensors"],
      [SHARDED, "sh", "model.safetensors.index.json"],
    ];
    for (const [template, name, file] of cases) {
      const t = await resolveOutputTarget(join(dir, name), template);
      assert.deepEqual(
        [t.form, t.folder, t.model, t.recipe],
        ["folder", join(dir, name), join(dir, name, file), join(dir, name, "model.recipe.json")],
      );
    }
    await mkdir(join(dir, "soup.v2"));
    assert.equal((await resolveOutputTarget(join(dir, "soup.v2"), KERAS)).model, join(dir, "soup.v2", "model.keras"));
    assert.equal(
      (await resolveOutputTarget(`${join(dir, "new.v3")}/`, KERAS)).model,
      join(dir, "new.v3", "model.keras"),
    );
    assert.equal((await resolveOutputTarget("relative-out", KERAS)).model, resolve("relative-out", "model.keras"));
  });

  it("refuses an empty path, another format's extension, a recipe name and an existing file without extension", async () => {
    const refuses = (out: string, template: string, pattern: RegExp) =>
      assert.rejects(
        resolveOutputTarget(out, template),
        (e: unknown) => e instanceof UsageError && pattern.test(e.message),
      );
    await refuses("", TFJS, /empty/);
    await refuses(join(dir, "x.keras"), TFJS, /TF\.js models, so expected \.json/);
    await refuses(join(dir, "x.bin"), TFJS, /expected \.json, or a folder/);
    await refuses(join(dir, "x.safetensors"), SHARDED, /safetensors\.index\.json \(the ingredients are sharded\)/);
    await refuses(join(dir, "x.safetensors.index.json"), SAFETENSORS, /expected \.safetensors/);
    await refuses(join(dir, "x.recipe.json"), TFJS, /names a recipe/);
    await writeFile(join(dir, "plainfile"), "x");
    await refuses(join(dir, "plainfile"), TFJS, /is a file, not a folder/);
  });

  it("PyTorch ingredients: safetensors by default (a folder holds model.safetensors), a state dict for .pt / .pth", async () => {
    const folder = await resolveOutputTarget(join(dir, "pt-soup") + "/", PYTORCH);
    assert.deepEqual([folder.model, folder.format], [join(dir, "pt-soup", "model.safetensors"), "safetensors"]);
    const st = await resolveOutputTarget(join(dir, "soup.safetensors"), PYTORCH);
    assert.deepEqual(
      [st.model, st.recipe, st.format],
      [join(dir, "soup.safetensors"), join(dir, "soup.recipe.json"), "safetensors"],
    );
    const pt = await resolveOutputTarget(join(dir, "soup.pt"), PYTORCH);
    assert.deepEqual(
      [pt.model, pt.recipe, pt.format],
      [join(dir, "soup.pt"), join(dir, "soup.recipe.json"), "pytorch"],
    );
    assert.equal((await resolveOutputTarget(join(dir, "soup.pth"), PYTORCH)).format, "pytorch");
    for (const out of ["soup.bin", "soup.ckpt", "soup.keras", "soup.safetensors.index.json"]) {
      await assert.rejects(
        resolveOutputTarget(join(dir, out), PYTORCH),
        (e: unknown) => e instanceof UsageError && /\.safetensors \(the default\) or \.pt \/ \.pth/.test(e.message),
        out,
      );
    }
  });
});
