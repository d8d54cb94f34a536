/**
 * The CLI's paths, run as a subprocess: model folders and folders of models as arguments, every --out form, and
 * the output guard refusing --out / --report / mergekit-export --out onto inputs, shards, data and recipes, and a
 * recipe's output.path outside its folder. Nothing is written when a run is refused.
 */
import assert from "node:assert/strict";
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readManifest } from "../../src/core/formats/registry.js";
import { runCli } from "./run-cli.js";

const DIGITS = "samples/digits";
const DATA = join(DIGITS, "soup.csv.gz");

async function listing(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

describe("model-soup paths: folders as models, --out forms, the output guard", function () {
  let dir: string;
  let models: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-paths-"));
    models = join(dir, "models");
    for (const i of [1, 2, 3])
      await cp(join(DIGITS, "models", `ingredient-${i}`), join(models, `ingredient-${i}`), { recursive: true });
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it("learn takes a folder of model folders, prints the models it took, and --out without extension makes a model folder", async () => {
    const run = await runCli(
      "learn",
      models,
      "--data",
      DATA,
      "--out",
      join(dir, "merged"),
      "--report",
      join(dir, "merged", "report.json"),
      "--backend",
      "cpu",
      "--json",
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /Using 3 models from .*models: ingredient-1\/model\.json, ingredient-2\/model\.json, ingredient-3\/model\.json/,
    );
    assert.equal(JSON.parse(run.stdout).metrics.ingredients.length, 3);
    assert.deepEqual(
      await listing(join(dir, "merged")),
      ["group1-shard1of1.bin", "model.json", "model.recipe.json", "report.json"],
      "the report may go into the new output folder",
    );
    assert.equal((await readManifest(join(dir, "merged", "model.json"))).format, "tfjs-layers");
  });

  it("merge takes model folders one by one; --out a file, an existing folder, a folder path ending in /", async () => {
    const folders = [1, 2].map((i) => join(models, `ingredient-${i}`));
    const file = await runCli("merge", ...folders, "--out", join(dir, "soup.json"));
    assert.equal(file.code, 0, file.stderr);
    assert.doesNotMatch(file.stderr, /Using/, "model folders given one by one are not expansions");
    const top = await listing(dir);
    for (const name of ["soup.json", "soup.group1-shard1of1.bin", "soup.recipe.json"])
      assert.ok(top.includes(name), name);
    await mkdir(join(dir, "existing"));
    await writeFile(join(dir, "existing", "keep.txt"), "");
    const existing = await runCli("merge", ...folders, "--out", join(dir, "existing"));
    assert.equal(existing.code, 0, existing.stderr);
    assert.deepEqual(await listing(join(dir, "existing")), [
      "group1-shard1of1.bin",
      "keep.txt",
      "model.json",
      "model.recipe.json",
    ]);
    const dotted = await runCli("merge", ...folders, "--out", `${join(dir, "soup.v2")}/`);
    assert.equal(dotted.code, 0, dotted.stderr);
    assert.deepEqual(await listing(join(dir, "soup.v2")), ["group1-shard1of1.bin", "model.json", "model.recipe.json"]);
  });

  it("refuses --out '' and a mismatched extension as usage errors, writing nothing", async () => {
    const before = await listing(dir);
    const empty = await runCli("merge", models, "--out", "");
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /--out expects a value; got an empty string/);
    const keras = await runCli("merge", models, "--out", join(dir, "x.keras"));
    assert.equal(keras.code, 2);
    assert.match(keras.stderr, /TF\.js models, so expected \.json, or a folder/);
    assert.deepEqual(await listing(dir), before);
  });

  it("refuses --out onto an input, a folder holding inputs, an input's shard name, and a file that is not a model", async () => {
    const input = join(models, "ingredient-1", "model.json");
    const shaOf = async () => readFile(input);
    const original = await shaOf();
    const before = await listing(dir);
    const onto = await runCli("merge", models, "--out", input);
    assert.equal(onto.code, 2);
    assert.match(
      onto.stderr,
      /refused as the merged model: it would overwrite the input model .*ingredient-1\/model\.json/,
    );
    const holding = await runCli("merge", models, "--out", models);
    assert.equal(holding.code, 2);
    assert.match(holding.stderr, /the output folder .*models holds the input model/);
    // An input named x.json whose shard is group1-shard1of1.bin: writing model.json beside it would reuse that shard name.
    const second = join(models, "ingredient-2");
    const json = JSON.parse(await readFile(join(second, "model.json"), "utf8"));
    json.weightsManifest[0].paths = ["group1-shard1of1.bin"];
    await writeFile(join(second, "x.json"), JSON.stringify(json));
    await rm(join(second, "model.json"));
    await rename(join(second, "weights.bin"), join(second, "group1-shard1of1.bin"));
    const shard = await runCli(
      "merge",
      join(models, "ingredient-1"),
      join(models, "ingredient-2", "x.json"),
      "--out",
      join(models, "ingredient-2", "model.json"),
    );
    assert.equal(shard.code, 2);
    assert.match(
      shard.stderr,
      /its shard files would overwrite .*ingredient-2\/group1-shard1of1\.bin, a file of the input model/,
    );
    await writeFile(join(dir, "notes.json"), '{"mine": true}');
    const other = await runCli(
      "merge",
      join(models, "ingredient-1"),
      join(models, "ingredient-3"),
      "--out",
      join(dir, "notes.json"),
    );
    assert.equal(other.code, 2);
    assert.match(
      other.stderr,
      /notes\.json: refused as the merged model: a file that is not a tfjs-layers model is there/,
    );
    assert.equal(await readFile(join(dir, "notes.json"), "utf8"), '{"mine": true}');
    assert.deepEqual(await shaOf(), original);
    assert.deepEqual(
      (await listing(dir)).filter((p) => !p.includes("ingredient-2")),
      [...before.filter((p) => !p.includes("ingredient-2")), "notes.json"].sort(),
    );
  });

  it("refuses an output whose shard names belong to another model in that folder (not an input)", async () => {
    const conv = join(dir, "converted");
    await mkdir(conv);
    const json = JSON.parse(await readFile(join(models, "ingredient-3", "model.json"), "utf8"));
    json.weightsManifest[0].paths = ["group1-shard1of1.bin"];
    await writeFile(join(conv, "other.json"), JSON.stringify(json));
    await cp(join(models, "ingredient-3", "weights.bin"), join(conv, "group1-shard1of1.bin"));
    const shard = await readFile(join(conv, "group1-shard1of1.bin"));
    const run = await runCli("merge", join(models, "ingredient-1"), join(models, "ingredient-2"), "--out", conv);
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      /its shard .*converted\/group1-shard1of1\.bin would overwrite a file of the model .*converted\/other\.json/,
    );
    assert.deepEqual(await readFile(join(conv, "group1-shard1of1.bin")), shard);
    assert.deepEqual(await listing(conv), ["group1-shard1of1.bin", "other.json"]);
  });

  it("refuses --report onto an input, its shard, the data file and the output's recipe, before any work", async () => {
    const data = join(dir, "data.csv.gz");
    await cp(DATA, data);
    const dataBytes = await readFile(data);
    const cases: [string, RegExp][] = [
      [join(models, "ingredient-1", "model.json"), /it would overwrite the input model/],
      [join(models, "ingredient-1", "weights.bin"), /a file of the input model/],
      [data, /it would overwrite the data/],
      [join(dir, "out", "model.recipe.json"), /it would overwrite the recipe/],
      [join(dir, "out", "group1-shard1of1.bin"), /it would overwrite a shard of the merged model/],
    ];
    for (const [report, pattern] of cases) {
      const run = await runCli(
        "learn",
        models,
        "--data",
        data,
        "--out",
        join(dir, "out"),
        "--report",
        report,
        "--backend",
        "cpu",
      );
      assert.equal(run.code, 2, `${report}: ${run.stderr}`);
      assert.match(run.stderr, pattern);
      assert.doesNotMatch(run.stderr, /TensorFlow|Learning/);
    }
    const evaluate = await runCli("evaluate", models, "--data", data, "--report", data);
    assert.equal(evaluate.code, 2);
    assert.match(evaluate.stderr, /refused as the report: it would overwrite the data/);
    assert.deepEqual(await readFile(data), dataBytes);
    assert.ok(!(await listing(dir)).some((p) => p.startsWith("out")), "nothing written");
  });

  it("mergekit-export --out refuses the recipe and an input; apply refuses a recipe whose output.path leaves its folder", async () => {
    const merged = await runCli("merge", models, "--weights", "0.5,0.3,0.2", "--out", join(dir, "w"));
    assert.equal(merged.code, 0, merged.stderr);
    const recipe = join(dir, "w", "model.recipe.json");
    const recipeText = await readFile(recipe, "utf8");
    for (const [out, pattern] of [
      [recipe, /it would overwrite the recipe/],
      [join(models, "ingredient-2", "model.json"), /it would overwrite the input model/],
    ] as const) {
      const run = await runCli("mergekit-export", recipe, "--out", out);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, pattern);
    }
    assert.equal(await readFile(recipe, "utf8"), recipeText);
    const exported = await runCli("mergekit-export", recipe, "--out", join(dir, "config.yaml"));
    assert.equal(exported.code, 0, exported.stderr);

    const victim = join(dir, "victim.json");
    await writeFile(victim, "precious");
    for (const path of ["../../victim.json", victim]) {
      const hostile = JSON.parse(recipeText);
      hostile.output.path = path;
      const hostileRecipe = join(dir, "w", "hostile.recipe.json");
      await writeFile(hostileRecipe, JSON.stringify(hostile));
      const run = await runCli("apply", hostileRecipe);
      assert.equal(run.code, 2, run.stderr);
      assert.match(
        run.stderr,
        /hostile\.recipe\.json: its output\.path ".*victim\.json" is not inside the recipe's folder; refusing/,
      );
    }
    assert.equal(await readFile(victim, "utf8"), "precious");
    // apply --out onto the recipe being applied, or onto an input, is refused too.
    const onto = await runCli("apply", recipe, "--out", join(models, "ingredient-1"));
    assert.equal(onto.code, 2);
    assert.match(onto.stderr, /refused as the merged model: it would overwrite the input model/);
  });
});
