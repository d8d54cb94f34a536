import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openModel } from "../../src/core/formats/registry.js";
import { writeSafetensors } from "../support/safetensors-writer.js";
import { runCli } from "./run-cli.js";

/** Values of one tensor of a written model. */
async function values(path: string, name: string): Promise<number[]> {
  const file = await openModel(path);
  try {
    return Array.from((await file.readTensor(name, { float32: true })).data as Float32Array);
  } finally {
    await file.close();
  }
}

function close(actual: number[], expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `${what}[${i}]: ${v} vs ${expected[i]}`));
}

describe("model-soup merge --method ... and the mergekit round trip", function () {
  let dir: string;
  let base: string;
  let a: string;
  let b: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-methods-"));
    base = join(dir, "base.safetensors");
    a = join(dir, "a.safetensors");
    b = join(dir, "b.safetensors");
    // Hand-made task vectors: τ_a = (1, 0, -2, 0), τ_b = (1, 2, 2, 0) around the base (1, 1, 1, 1).
    await writeSafetensors(base, {
      "fc.weight": { shape: [2, 2], data: Float32Array.of(1, 1, 1, 1) },
      "fc.bias": { shape: [2], data: Float32Array.of(0, 0) },
    });
    await writeSafetensors(a, {
      "fc.weight": { shape: [2, 2], data: Float32Array.of(2, 1, -1, 1) },
      "fc.bias": { shape: [2], data: Float32Array.of(1, 0) },
    });
    await writeSafetensors(b, {
      "fc.weight": { shape: [2, 2], data: Float32Array.of(2, 3, 3, 1) },
      "fc.bias": { shape: [2], data: Float32Array.of(0, 1) },
    });
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("task arithmetic: W = W_base + Σ λ_i τ_i", async () => {
    const out = join(dir, "ta.safetensors");
    const run = await runCli(
      "merge",
      a,
      b,
      "--method",
      "task_arithmetic",
      "--base",
      base,
      "--weights",
      "0.5,0.25",
      "--out",
      out,
    );
    assert.equal(run.code, 0, run.stderr);
    // 1 + 0.5·(1, 0, −2, 0) + 0.25·(1, 2, 2, 0) = (1.75, 1.5, 0.5, 1)
    close(await values(out, "fc.weight"), [1.75, 1.5, 0.5, 1], "fc.weight");
    const recipe = JSON.parse(await readFile(join(dir, "ta.recipe.json"), "utf8"));
    assert.equal(recipe.merge.method, "task_arithmetic");
    assert.equal(recipe.base.path, "base.safetensors");
  });

  it("without --weights, task arithmetic takes λ_i = 0.4 and TIES λ_i = 1, and the recipe records them", async () => {
    const ta = join(dir, "ta-default.safetensors");
    const run = await runCli("merge", a, b, "--method", "task_arithmetic", "--base", base, "--out", ta);
    assert.equal(run.code, 0, run.stderr);
    // 1 + 0.4·((1, 0, −2, 0) + (1, 2, 2, 0)) = (1.8, 1.8, 1, 1)
    close(await values(ta, "fc.weight"), [1.8, 1.8, 1, 1], "fc.weight");
    const recipe = JSON.parse(await readFile(join(dir, "ta-default.recipe.json"), "utf8"));
    assert.deepEqual(
      recipe.merge.ingredients.map((g: { weight: number }) => g.weight),
      [0.4, 0.4],
    );
    const ties = join(dir, "ties-default.safetensors");
    const tiesRun = await runCli("merge", a, b, "--method", "ties", "--base", base, "--out", ties);
    assert.equal(tiesRun.code, 0, tiesRun.stderr);
    const tiesRecipe = JSON.parse(await readFile(join(dir, "ties-default.recipe.json"), "utf8"));
    assert.deepEqual(
      tiesRecipe.merge.ingredients.map((g: { weight: number }) => g.weight),
      [1, 1],
    );
    const help = await runCli("merge", "--help");
    assert.match(
      help.stdout,
      /--weights .*each model's λ_i: task_arithmetic 0\.4, ties 1, dare_linear 0\.4, dare_ties 1 by default/,
    );
  });

  it("TIES with density 1 keeps the entries that agree with the elected sign", async () => {
    const out = join(dir, "ties.safetensors");
    const run = await runCli(
      "merge",
      a,
      b,
      "--method",
      "ties",
      "--base",
      base,
      "--weights",
      "1,1",
      "--density",
      "1",
      "--out",
      out,
    );
    assert.equal(run.code, 0, run.stderr);
    // Signs: entry 0 both +1 → mean 1; entry 1 only b (+2) → 2; entry 2: −2 vs +2 sums to 0 → elected + → b's 2; entry 3: 0.
    close(await values(out, "fc.weight"), [2, 3, 3, 1], "fc.weight");
  });

  it("SLERP needs exactly one model besides the base and interpolates with t", async () => {
    const out = join(dir, "slerp.safetensors");
    const run = await runCli("merge", base, a, "--method", "slerp", "--base", base, "--t", "0", "--out", out);
    assert.equal(run.code, 0, run.stderr);
    close(await values(out, "fc.weight"), [1, 1, 1, 1], "t = 0 gives the base");
    const refused = await runCli(
      "merge",
      a,
      b,
      "--method",
      "slerp",
      "--base",
      base,
      "--t",
      "0.5",
      "--out",
      join(dir, "never.safetensors"),
    );
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /slerp merges exactly 1 model/);
  });

  it("DARE is seeded: the same seed gives the same model, and the recipe keeps the seed", async () => {
    const first = join(dir, "dare1.safetensors");
    const second = join(dir, "dare2.safetensors");
    for (const out of [first, second]) {
      const run = await runCli(
        "merge",
        a,
        b,
        "--method",
        "dare_linear",
        "--base",
        base,
        "--weights",
        "1,1",
        "--density",
        "0.5",
        "--seed",
        "7",
        "--out",
        out,
      );
      assert.equal(run.code, 0, run.stderr);
    }
    assert.deepEqual(await values(first, "fc.weight"), await values(second, "fc.weight"));
    const recipe = JSON.parse(await readFile(join(dir, "dare1.recipe.json"), "utf8"));
    assert.equal(recipe.merge.params.seed, 7);
    assert.equal(recipe.merge.params.density, 0.5);
  });

  it("model stock merges two fine-tunes with the base", async () => {
    const run = await runCli(
      "merge",
      a,
      b,
      "--method",
      "model_stock",
      "--base",
      base,
      "--out",
      join(dir, "stock.safetensors"),
    );
    assert.equal(run.code, 0, run.stderr);
  });

  it("exports a recipe to mergekit YAML and imports it back to the same tensors", async () => {
    const out = join(dir, "linear.safetensors");
    assert.equal((await runCli("merge", a, b, "--weights", "0.7,0.3", "--out", out)).code, 0);
    const yamlPath = join(dir, "config.yaml");
    const exported = await runCli("mergekit-export", join(dir, "linear.recipe.json"), "--out", yamlPath);
    assert.equal(exported.code, 0, exported.stderr);
    const yaml = await readFile(yamlPath, "utf8");
    assert.match(yaml, /merge_method: linear/);
    const again = join(dir, "imported.safetensors");
    const imported = await runCli("mergekit-import", yamlPath, "--out", again);
    assert.equal(imported.code, 0, imported.stderr);
    for (const name of ["fc.weight", "fc.bias"]) assert.deepEqual(await values(again, name), await values(out, name));
  });

  it("warns about NaN and infinite input weights but still merges", async () => {
    const broken = join(dir, "broken.safetensors");
    await writeSafetensors(broken, {
      "fc.weight": { shape: [2, 2], data: Float32Array.of(NaN, 1, Infinity, 1) },
      "fc.bias": { shape: [2], data: Float32Array.of(0, 0) },
    });
    const run = await runCli("merge", a, broken, "--out", join(dir, "nan.safetensors"));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /warning: .*nan\.safetensors: tensor "fc\.weight" has 1 NaN and 1 infinite value/);
  });

  it("refuses a mergekit config with a method Model Soup does not share, naming the file", async () => {
    const bad = join(dir, "bad.yaml");
    await writeFile(
      bad,
      `merge_method: passthrough\nslices:\n  - sources:\n      - model: a.safetensors\n        layer_range: [0, 1]\n`,
    );
    const run = await runCli("mergekit-import", bad, "--out", join(dir, "x.safetensors"));
    assert.equal(run.code, 2);
    assert.match(run.stderr, /bad\.yaml/);
  });
});
