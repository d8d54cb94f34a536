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

  it("saves the BatchNormalization statistics it evaluated, in .keras, and apply reproduces them exactly", async () => {
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
    const report = JSON.parse(run.stdout);
    const saved = await tensor(out, "layers/batch_normalization/vars/2");
    const ingredients = await Promise.all(CNN.map((p) => tensor(p, "layers/batch_normalization/vars/2")));
    const coefficients = report.coefficients as number[];
    // The statistics are part of the soup: re-estimated only when that lowered the validation loss, and then
    // written as they were evaluated; otherwise the weight average of the ingredients' statistics.
    if (recipe.learning.batchNorm === "re-estimated") {
      const names = Object.keys(recipe.overrides ?? {}).sort();
      assert.deepEqual(names, ["layers/batch_normalization/vars/2", "layers/batch_normalization/vars/3"]);
      assert.deepEqual(Array.from(saved), recipe.overrides["layers/batch_normalization/vars/2"].map(Math.fround));
    } else {
      assert.equal(recipe.learning.batchNorm, "averaged");
      assert.equal(recipe.overrides, undefined);
      const averaged = ingredients[0]!.map((v, i) => coefficients[0]! * v + coefficients[1]! * ingredients[1]![i]!);
      saved.forEach((v, i) =>
        assert.ok(Math.abs(v - averaged[i]!) <= 1e-6 * Math.max(1, Math.abs(v)), `${v} ${averaged[i]}`),
      );
    }

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
