import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { modelCandidates } from "../../../src/core/io/model-candidates.js";

const real = join(import.meta.dirname, "..", "..", "fixtures", "real-models");

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}

describe("core/io/model-candidates", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "model-soup-candidates-"));
    cpSync(join(real, "safetensors-jl-fixtures"), join(dir, "st"), { recursive: true });
    cpSync(join(real, "tfjs-examples", "balance_pr447"), join(dir, "balance"), { recursive: true });
    cpSync(join(real, "tensorspace-converter", "tfjs_lenet", "a_examples_rawModel"), join(dir, "lenet"), {
      recursive: true,
    });
    writeFileSync(join(dir, "settings.json"), '{"editor.fontSize": 12}');
    const torch = join(import.meta.dirname, "..", "fixtures", "pytorch");
    cpSync(join(torch, "mlp_a.pt"), join(dir, "pt", "mlp_a.pt"));
    cpSync(join(torch, "cnn_a.pth"), join(dir, "pt", "cnn_a.pth"));
    cpSync(join(torch, "lightning.ckpt"), join(dir, "pt", "lightning.ckpt"));
    cpSync(join(torch, "hf", "pytorch_model.bin"), join(dir, "pt", "hf", "pytorch_model.bin"));
    writeFileSync(join(dir, "pt", "hf", "data.bin"), new Uint8Array(8));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps model files (PyTorch checkpoints included) and shard indexes, drops other .bin files, shards an index names and JSON that is not a TF.js model", async () => {
    const found = (await modelCandidates(walk(dir))).map((p) => p.slice(dir.length + 1));
    assert.deepEqual(found, [
      "balance/model1/model.json",
      "balance/model2/model.json",
      "lenet/mnist.json",
      "pt/cnn_a.pth",
      "pt/hf/pytorch_model.bin",
      "pt/lightning.ckpt",
      "pt/mlp_a.pt",
      "st/non_sharded/model.safetensors",
      "st/non_sharded/model.with_metadata.safetensors",
      "st/sharded/model.safetensors.index.json",
    ]);
  });
});
