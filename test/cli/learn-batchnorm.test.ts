import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openModel } from "../../src/core/formats/registry.js";
import { seededValues } from "../support/safetensors-writer.js";
import { runCli } from "./run-cli.js";

const CNN = ["test/fixtures/keras3/cnn_a.keras", "test/fixtures/keras3/cnn_b.keras"];

async function tensor(path: string, name: string): Promise<Float32Array> {
  const file = await openModel(path);
  try {
    return (await file.readTensor(name, { float32: true })).data as Float32Array;
  } finally {
    await file.close();
  }
}

describe("a learned soup of Keras 3 CNNs with BatchNormalization", function () {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-bn-"));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("saves the re-estimated statistics it evaluated, in .keras, and apply reproduces them exactly", async () => {
    // 120 samples of 8×8×1 inputs with labels 0..2, as a JSON file.
    const values = seededValues(3, 120 * 64);
    const x = Array.from({ length: 120 }, (_, i) =>
      Array.from(values.subarray(i * 64, (i + 1) * 64), (v) => v * 3 + 1),
    );
    const y = Array.from({ length: 120 }, (_, i) => i % 3);
    const data = join(dir, "data.json");
    await writeFile(data, JSON.stringify({ x, y }));
    const out = join(dir, "soup.keras");
    const run = await runCli("learn", ...CNN, "--data", data, "--out", out, "--backend", "cpu", "--json");
    assert.equal(run.code, 0, run.stderr);
    const recipe = JSON.parse(await readFile(join(dir, "soup.recipe.json"), "utf8"));
    const names = Object.keys(recipe.overrides ?? {}).sort();
    assert.deepEqual(names, ["layers/batch_normalization/vars/2", "layers/batch_normalization/vars/3"]);

    const saved = await tensor(out, "layers/batch_normalization/vars/2");
    assert.deepEqual(Array.from(saved), recipe.overrides["layers/batch_normalization/vars/2"].map(Math.fround));
    // Not what a weight average gives: the inputs are shifted by +1 and scaled by 3, far from the ingredients' statistics.
    const averaged = (await Promise.all(CNN.map((p) => tensor(p, "layers/batch_normalization/vars/2")))).reduce(
      (acc, t) => acc.map((v, i) => v + t[i]! / 2),
      new Float32Array(4),
    );
    assert.notDeepEqual(Array.from(saved), Array.from(averaged));

    const again = join(dir, "again.keras");
    const applied = await runCli("apply", join(dir, "soup.recipe.json"), "--out", again);
    assert.equal(applied.code, 0, applied.stderr);
    for (const name of [
      "layers/batch_normalization/vars/2",
      "layers/batch_normalization/vars/3",
      "layers/conv2d/vars/0",
      "layers/dense/vars/0",
    ]) {
      assert.deepEqual(Array.from(await tensor(again, name)), Array.from(await tensor(out, name)), name);
    }
  });
});
