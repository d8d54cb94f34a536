import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readManifest } from "../../src/core/formats/registry.js";
import { findPythonWithTorch } from "../../src/core/python/find-python.js";
import { checkTorchArchitecture, torchIngredients, torchLabel } from "../../src/host/torch-ingredients.js";

const ENGINE = join(import.meta.dirname, "../fixtures/pytorch/engine");
const KERAS = join(import.meta.dirname, "../fixtures/keras3");
const SAFETENSORS = join(import.meta.dirname, "../fixtures/real-models/safetensors-jl-fixtures/non_sharded");

describe("torchIngredients", () => {
  let folder: string;
  before(() => {
    folder = mkdtempSync(join(tmpdir(), "model-soup-torch-ingredients-"));
    for (const i of [0, 1]) copyFileSync(join(ENGINE, `mlp_ft${i}.pt`), join(folder, `mlp_ft${i}.pt`));
  });
  after(() => rmSync(folder, { recursive: true, force: true }));

  const manifests = (paths: string[]) => Promise.all(paths.map((p) => readManifest(p)));

  it("TorchScript files run as they are", async () => {
    const paths = [0, 1].map((i) => join(ENGINE, `mlp_ft${i}.ts.pt`));
    const found = await torchIngredients(await manifests(paths));
    assert.equal(found.pytorch, true);
    assert.deepEqual([...found.runnable], paths);
  });

  it("state dicts run only once a model-soup.json beside them records their architecture", async () => {
    const paths = [0, 1].map((i) => join(folder, `mlp_ft${i}.pt`));
    const without = await torchIngredients(await manifests(paths));
    assert.deepEqual([without.pytorch, without.runnable.size], [true, 0]);
    writeFileSync(join(folder, "model-soup.json"), JSON.stringify({ architecture: "build.py:build" }));
    const recorded = await torchIngredients(await manifests(paths));
    assert.deepEqual([...recorded.runnable], paths);
  });

  it("a Hugging Face folder (a config.json beside its safetensors) runs: its config gives the architecture", async () => {
    const hf = join(folder, "hf");
    mkdirSync(hf);
    copyFileSync(join(SAFETENSORS, "model.safetensors"), join(hf, "model.safetensors"));
    const path = join(hf, "model.safetensors");
    const without = await torchIngredients(await manifests([path]));
    assert.deepEqual([without.pytorch, without.runnable.size], [false, 0], "bare safetensors stay TensorFlow.js's");
    // Another tool's config.json (no model_type, no architectures) is no Hugging Face config.
    writeFileSync(join(hf, "config.json"), JSON.stringify({ learning_rate: 0.1 }));
    assert.equal((await torchIngredients(await manifests([path]))).runnable.size, 0);
    writeFileSync(join(hf, "config.json"), JSON.stringify({ model_type: "mlp", architectures: ["MlpModel"] }));
    const found = await torchIngredients(await manifests([path]));
    assert.deepEqual([found.pytorch, [...found.runnable]], [true, [path]]);
  });

  it("Keras models are no PyTorch models", async () => {
    const found = await torchIngredients(await manifests([join(KERAS, "mlp_a.keras"), join(KERAS, "mlp_b.keras")]));
    assert.deepEqual([found.pytorch, found.runnable.size], [false, 0]);
  });
});

describe("checkTorchArchitecture", () => {
  it("takes torchvision anywhere, and a Python file (resolved against the models' folder) only when trusted", () => {
    assert.deepEqual(checkTorchArchitecture(" torchvision:resnet18 ", "/m", false), { spec: "torchvision:resnet18" });
    assert.deepEqual(checkTorchArchitecture("mlp_factory.py:build", ENGINE, true), {
      spec: `${join(ENGINE, "mlp_factory.py")}:build`,
    });
    const untrusted = checkTorchArchitecture("mlp_factory.py:build", ENGINE, false);
    assert.match("error" in untrusted ? untrusted.error : "", /runs your Python code: trust this workspace/);
    const module = checkTorchArchitecture("mypkg.models:build", ENGINE, false);
    assert.ok("error" in module);
  });

  it("refuses what is no PyTorch architecture, and a Python file that is not there, in one line naming it", () => {
    const form = checkTorchArchitecture("model.keras", "/m", true);
    assert.match("error" in form ? form.error : "", /^"model.keras" is not torchvision:<name>/);
    const missing = checkTorchArchitecture("nope.py:build", "/m", true);
    assert.deepEqual(missing, { error: "/m/nope.py: no such file" });
  });

  it("takes huggingface:<folder> untrusted (transformers' own classes run, no workspace code) when its config.json is there", () => {
    const hf = mkdtempSync(join(tmpdir(), "model-soup-hf-architecture-"));
    try {
      const none = checkTorchArchitecture("huggingface:base", hf, false);
      assert.deepEqual(none, {
        error: `${join(hf, "base")}: no config.json there (a Hugging Face model folder holds one)`,
      });
      mkdirSync(join(hf, "base"));
      writeFileSync(join(hf, "base", "config.json"), JSON.stringify({ model_type: "bert" }));
      assert.deepEqual(checkTorchArchitecture("huggingface:base", hf, false), {
        spec: `huggingface:${join(hf, "base")}`,
      });
    } finally {
      rmSync(hf, { recursive: true, force: true });
    }
  });
});

describe("torchLabel", function () {
  this.timeout(60_000);
  it("names the torch version, the devices and the interpreter the search found", async function () {
    const found = await findPythonWithTorch().catch(() => undefined);
    if (!found) {
      console.log("    (skipped: no Python with torch on PATH or in the system folders)");
      this.skip();
    }
    const label = torchLabel(found);
    assert.ok(label.startsWith(`PyTorch ${found.torchVersion} on cpu`), label);
    assert.ok(label.includes(`(${found.path}, from ${found.source})`), label);
  });
});
