import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./run-cli.js";
import { float32Tensors } from "../support/model-files.js";

const SAMPLE = "samples/digits";

describe("model-soup merge --method regmean_plusplus --data, apply, and evaluate --methods with the new methods", function () {
  this.timeout(240_000);
  let dir: string;
  let models: string[];
  let data: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-regmean-pp-"));
    models = [];
    for (const i of [1, 2, 3]) {
      await cp(join(SAMPLE, "models", `ingredient-${i}`), join(dir, `ingredient-${i}`), { recursive: true });
      models.push(join(dir, `ingredient-${i}`, "model.json"));
    }
    data = join(dir, "soup.csv.gz");
    await cp(join(SAMPLE, "soup.csv.gz"), data);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("writes the merge and a recipe with the data's hash; apply reproduces it exactly", async () => {
    const out = join(dir, "pp", "model.json");
    const run = await runCli(
      "merge",
      ...models,
      "--method",
      "regmean_plusplus",
      "--alpha",
      "0.5",
      "--data",
      data,
      "--out",
      out,
      "--json",
      "--backend",
      "wasm",
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(report.method, "RegMean++");
    assert.ok(report.metrics.merged.metric > 0.5, `merged accuracy ${report.metrics.merged.metric}`);
    const recipePath = join(dir, "pp", "model.recipe.json");
    const recipe = JSON.parse(await readFile(recipePath, "utf8"));
    assert.equal(recipe.merge.method, "regmean_plusplus");
    assert.equal(recipe.merge.params.alpha, 0.5);
    assert.match(recipe.data.sha256, /^[0-9a-f]{64}$/);
    const merged = await float32Tensors(out);

    // One data set for every ingredient: the merged layers produce the same inputs for each, so every Gram matrix
    // of a layer is the same and each kernel is the plain average of the ingredients' (up to rounding).
    const uniform = join(dir, "uniform.json");
    assert.equal((await runCli("merge", ...models, "--out", uniform)).code, 0);
    const plain = await float32Tensors(uniform);
    for (const [name, values] of merged) {
      const worst = Math.max(...values.map((v, i) => Math.abs(v - plain.get(name)![i]!)));
      assert.ok(worst < 1e-4, `${name}: ${worst} from the uniform soup`);
    }

    const again = join(dir, "pp-again", "model.json");
    const apply = await runCli("apply", recipePath, "--out", again);
    assert.equal(apply.code, 0, apply.stderr);
    assert.deepEqual(await float32Tensors(again), merged);
  });

  it("evaluate --methods lists RegMean++ and, with --base, TSV-M, Iso-C, Iso-CTS and WUDI in the table", async () => {
    const base = models[0]!;
    const run = await runCli(
      "evaluate",
      ...models.slice(1),
      base,
      "--data",
      data,
      "--methods",
      "regmean_plusplus,tsv_m,iso_c,iso_cts,wudi",
      "--base",
      base,
      "--json",
      "--backend",
      "wasm",
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.deepEqual(
      report.metrics.methods.map((m: { method: string }) => m.method),
      ["RegMean++", "TSV-M", "Iso-C", "Iso-CTS", "WUDI merging"],
    );
    for (const m of report.metrics.methods) assert.ok(Number.isFinite(m.loss) && m.metric >= 0 && m.metric <= 1);
    const noBase = await runCli("evaluate", ...models, "--data", data, "--methods", "iso_c");
    assert.notEqual(noBase.code, 0);
    assert.match(noBase.stderr, /--methods iso_c merge fine-tunes of one base model: give it with --base/);
  });
});
