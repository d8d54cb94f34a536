import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { writeSafetensors } from "../support/safetensors-writer.js";
import { runCli } from "./run-cli.js";
import { float32Tensors } from "../support/model-files.js";

interface Case {
  name: string;
  shape: number[];
  base: number[];
  models: number[][];
  expected: Record<string, number[]>;
  wudi?: { steps: number; lr: number };
}
const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL("../fixtures/svd-merges/expected.json", import.meta.url)), "utf8"),
) as { cases: Case[]; vector: Case };
/** The PyTorch-layout case ([outputs, inputs], `….weight`) and a bias, as one small safetensors model. */
const weight = fixture.cases.find((c) => c.name.endsWith(".weight"))!;
const bias = fixture.vector;

function near(actual: Float32Array, expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  const worst = Math.max(...expected.map((e, i) => Math.abs(actual[i]! - e)));
  assert.ok(worst < 2e-5, `${what}: largest difference ${worst}`);
}

describe("model-soup merge --method tsv_m|iso_c|iso_cts|wudi --base, recipes and apply", function () {
  this.timeout(60_000);
  let dir: string;
  let base: string;
  let models: string[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-svd-"));
    base = join(dir, "base.safetensors");
    await writeSafetensors(base, {
      [weight.name]: { shape: weight.shape, data: Float32Array.from(weight.base) },
      "encoder.fc.bias": { shape: bias.shape, data: Float32Array.from(bias.base) },
    });
    models = [];
    for (let i = 0; i < weight.models.length; i++) {
      const path = join(dir, `task-${i}.safetensors`);
      await writeSafetensors(path, {
        [weight.name]: { shape: weight.shape, data: Float32Array.from(weight.models[i]!) },
        "encoder.fc.bias": { shape: bias.shape, data: Float32Array.from(bias.models[i]!) },
      });
      models.push(path);
    }
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const runs: Array<[string, string[], string, Record<string, number>]> = [
    ["tsv_m", [], "tsv_m", {}],
    ["tsv_m", ["--lambda", "0.7"], "tsv_m_lambda", { lambda: 0.7 }],
    ["iso_c", ["--lambda", "1.3"], "iso_c_lambda", { lambda: 1.3 }],
    ["iso_cts", [], "iso_cts", {}],
    ["iso_cts", ["--common-space", "0.5"], "iso_cts_half", { common_space: 0.5 }],
    ["wudi", ["--steps", "40", "--lr", "0.002"], "wudi", { steps: 40, lr: 0.002 }],
  ];
  for (const [method, options, expected, params] of runs) {
    it(`${method} ${options.join(" ")}: the NumPy reference's merge, a recipe, and apply reproduces it exactly`, async () => {
      const out = join(dir, `${expected}.safetensors`);
      const run = await runCli("merge", ...models, "--method", method, "--base", base, ...options, "--out", out);
      assert.equal(run.code, 0, run.stderr);
      const merged = await float32Tensors(out);
      near(merged.get(weight.name)!, weight.expected[expected]!, `${method} ${weight.name}`);
      const lambda = method === "wudi" ? 1 : (params.lambda ?? 1);
      // Not a matrix: base + λ·mean task vector.
      const meanBias = bias.expected.mean_1!.map((m, i) => bias.base[i]! + lambda * (m - bias.base[i]!));
      near(merged.get("encoder.fc.bias")!, meanBias, "bias");

      const recipePath = join(dir, `${expected}.recipe.json`);
      const recipe = JSON.parse(await readFile(recipePath, "utf8"));
      assert.equal(recipe.merge.method, method);
      assert.equal(recipe.base.path, "base.safetensors");
      for (const [name, value] of Object.entries(params)) assert.equal(recipe.merge.params[name], value, name);

      const again = join(dir, "again", `${expected}.safetensors`);
      const apply = await runCli("apply", recipePath, "--out", again);
      assert.equal(apply.code, 0, apply.stderr);
      assert.deepEqual(await float32Tensors(again), merged);
    });
  }

  it("refuses them without a base, with a parameter out of range, and with per-model weights; mergekit export says why", async () => {
    const noBase = await runCli("merge", ...models, "--method", "iso_c", "--out", join(dir, "x.safetensors"));
    assert.notEqual(noBase.code, 0);
    assert.match(noBase.stderr, /iso_c needs a base model/);
    const range = await runCli(
      "merge",
      ...models,
      "--method",
      "iso_cts",
      "--base",
      base,
      "--common-space",
      "1.5",
      "--out",
      join(dir, "y.safetensors"),
    );
    assert.notEqual(range.code, 0);
    assert.match(range.stderr, /common_space" must be >= 0 and <= 1, got 1.5/);
    const weights = await runCli(
      "merge",
      ...models,
      "--method",
      "tsv_m",
      "--base",
      base,
      "--weights",
      "1,1,1",
      "--out",
      join(dir, "z.safetensors"),
    );
    assert.notEqual(weights.code, 0);
    assert.match(weights.stderr, /tsv_m takes no per-model weights/);
    const exported = await runCli("mergekit-export", join(dir, "wudi.recipe.json"));
    assert.notEqual(exported.code, 0);
    assert.match(exported.stderr, /wudi has no mergekit equivalent/);
  });
});
