import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { runCli } from "./run-cli.js";
import { float32Tensors } from "../support/model-files.js";

const SAMPLE = "samples/digits";

describe("model-soup merge --method regmean|fisher --data, apply, evaluate --methods (digits sample)", function () {
  this.timeout(180_000);
  let dir: string;
  let models: string[];
  let data: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-data-aware-"));
    models = [];
    for (const i of [1, 2, 3]) {
      await cp(join(SAMPLE, "models", `ingredient-${i}`), join(dir, `ingredient-${i}`), { recursive: true });
      models.push(join(dir, `ingredient-${i}`, "model.json"));
    }
    data = join(dir, "soup.csv.gz");
    await cp(join(SAMPLE, "soup.csv.gz"), data);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  for (const method of ["regmean", "fisher"] as const) {
    it(`${method}: writes a model that re-reads and scores as reported, a recipe with the data's hash, and apply reproduces it`, async () => {
      const out = join(dir, method, "model.json");
      const run = await runCli(
        "merge",
        ...models,
        "--method",
        method,
        "--data",
        data,
        "--out",
        out,
        "--json",
        "--backend",
        "wasm",
        ...(method === "fisher" ? ["--examples", "64"] : []),
      );
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(run.stdout);
      assert.equal(report.method, method === "regmean" ? "RegMean" : "Fisher merging");
      assert.equal(report.metrics.ingredients.length, 3);
      assert.ok(report.metrics.merged.metric > 0.8, `merged accuracy ${report.metrics.merged.metric}`);
      const merged = await float32Tensors(out);
      const first = await float32Tensors(models[0]!);
      assert.deepEqual([...merged.keys()].sort(), [...first.keys()].sort());
      // The merge is neither an ingredient nor the uniform soup.
      const uniform = join(dir, `${method}-uniform.json`);
      assert.equal((await runCli("merge", ...models, "--out", uniform)).code, 0);
      const plain = await float32Tensors(uniform);
      assert.notDeepEqual(merged.get("hidden1/kernel"), first.get("hidden1/kernel"));
      assert.notDeepEqual(merged.get("hidden1/kernel"), plain.get("hidden1/kernel"));

      // The written file scores what the report said (same split): evaluate it as an ingredient.
      const check = await runCli("evaluate", out, models[0]!, "--data", data, "--json", "--backend", "wasm");
      assert.equal(check.code, 0, check.stderr);
      const scored = JSON.parse(check.stdout).metrics.ingredients[0];
      assert.ok(
        Math.abs(scored.loss - report.metrics.merged.loss) < 1e-4,
        `file ${scored.loss} vs report ${report.metrics.merged.loss}`,
      );

      const recipePath = join(dir, method, "model.recipe.json");
      const recipe = JSON.parse(await readFile(recipePath, "utf8"));
      assert.equal(recipe.merge.method, method);
      assert.equal(recipe.data.path, "../soup.csv.gz");
      assert.match(recipe.data.sha256, /^[0-9a-f]{64}$/);
      assert.equal(recipe.backend, "wasm");
      assert.deepEqual(
        recipe.learning.statistics,
        method === "fisher"
          ? { split: "learn", rows: 539, examples: 64, target: "labels" }
          : { split: "learn", rows: 539 },
      );

      const again = join(dir, `${method}-again`, "deeper", "model.json");
      const apply = await runCli("apply", recipePath, "--out", again);
      assert.equal(apply.code, 0, apply.stderr);
      assert.deepEqual(await float32Tensors(again), merged);
      const reapplied = JSON.parse(await readFile(join(dir, `${method}-again`, "deeper", "model.recipe.json"), "utf8"));
      assert.equal(reapplied.data.path, "../../soup.csv.gz", "the data path is re-based for the new recipe's folder");
    });
  }

  it("apply refuses a RegMean recipe whose data changed; merge refuses regmean without data", async () => {
    const changedData = join(dir, "changed.csv.gz");
    await cp(data, changedData);
    const out = join(dir, "changed", "model.json");
    assert.equal(
      (
        await runCli(
          "merge",
          ...models,
          "--method",
          "regmean",
          "--data",
          changedData,
          "--out",
          out,
          "--backend",
          "wasm",
        )
      ).code,
      0,
    );
    const text = gunzipSync(await readFile(changedData)).toString("utf8");
    await writeFile(changedData, gzipSync(text.replace(/\n$/, "") + "\n" + text.split("\n")[0] + "\n"));
    const apply = await runCli(
      "apply",
      join(dir, "changed", "model.recipe.json"),
      "--out",
      join(dir, "changed-again", "model.json"),
    );
    assert.notEqual(apply.code, 0);
    assert.match(apply.stderr, /changed\.csv\.gz.*has changed since the recipe .* regmean needs the same data/);

    const noData = await runCli("merge", ...models, "--method", "regmean", "--out", join(dir, "nodata", "model.json"));
    assert.notEqual(noData.code, 0);
    assert.match(noData.stderr, /--data <file> is required/);
  });

  it("evaluate --methods regmean,fisher adds their rows beside the ingredients, the uniform soup and the ensemble", async () => {
    const run = await runCli(
      "evaluate",
      ...models,
      "--data",
      data,
      "--methods",
      "regmean,fisher",
      "--examples",
      "64",
      "--backend",
      "wasm",
    );
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split("\n");
    const order = ["uniform soup", "RegMean", "Fisher merging", "output ensemble"].map((name) =>
      lines.findIndex((l) => l.startsWith(name)),
    );
    assert.ok(
      order.every((i) => i > 0),
      run.stdout,
    );
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
    );
    const bad = await runCli("evaluate", ...models, "--data", data, "--methods", "ties");
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--methods expects all or some of greedy, learned, regmean, fisher/);
  });
});
