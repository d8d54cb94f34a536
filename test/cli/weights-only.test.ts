// Weights-only checkpoints (Keras 2 `save_weights` / `ModelCheckpoint(save_weights_only=True)` .hdf5 files) given
// `--architecture`, the full model beside them named when it is missing, and `--test` (the user's own held-out rows).
// The checkpoints are written by this test from the learn-family digit MLPs (test/fixtures/learn-family), with the
// full Keras 2 model of the same architecture in the folder above them, as a training run leaves them; the real
// Keras 2.2.2 LeNet pair (test/fixtures/real-models/tensorspace-converter) covers the folder-beside case.
import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { runCli } from "./run-cli.js";
import { writeKeras2File } from "../support/keras2-checkpoints.js";
import { readKerasArchive } from "../../src/core/formats/keras-zip/read.js";
import { extractZipEntry } from "../../src/core/io/zip.js";

const FAMILY = join("test", "fixtures", "learn-family");
const LENET = join("test", "fixtures", "real-models", "tensorspace-converter", "keras_h5_lenet");
const DIGITS = join("samples", "digits", "soup.csv.gz");
const KERAS3 = join("test", "fixtures", "keras3");

const sha256 = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, `expected a one-line error, got:\n${stderr}`);
  return lines[0]!;
}

describe("weights-only checkpoints and the user's own test rows (CLI)", function () {
  this.timeout(300_000);
  let dir: string;
  let full: string;
  let checkpoints: string[];
  let topology: string;
  let data: string;
  let test: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "weights-only-"));
    full = join(dir, "run", "model.h5");
    await mkdir(join(dir, "run", "checkpoints"), { recursive: true });
    await writeKeras2File(join(FAMILY, "good-1", "model.json"), full, { full: true });
    checkpoints = [];
    for (const [i, name] of ["good-1", "good-2", "good-3"].entries()) {
      const path = join(dir, "run", "checkpoints", `weights.0${i + 1}.hdf5`);
      await writeKeras2File(join(FAMILY, name, "model.json"), path);
      checkpoints.push(path);
    }
    // A topology JSON (model.to_json()) kept apart from the checkpoints, so nothing finds it on its own.
    await mkdir(join(dir, "arch"));
    topology = join(dir, "arch", "digits.json");
    const modelJson = JSON.parse(await readFile(join(FAMILY, "good-1", "model.json"), "utf8")) as {
      modelTopology: unknown;
    };
    await writeFile(topology, JSON.stringify(modelJson.modelTopology));
    // The digits rows split into the learning data (600 rows) and the user's own held-out rows (299).
    const rows = gunzipSync(await readFile(DIGITS))
      .toString("utf8")
      .trim()
      .split("\n");
    data = join(dir, "learning.csv");
    test = join(dir, "held-out.csv");
    await writeFile(data, `${rows.slice(0, 600).join("\n")}\n`);
    await writeFile(test, `${rows.slice(600).join("\n")}\n`);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses them without --architecture, naming the full model in the folder above; inspect says the same", async () => {
    const refused = await runCli("learn", ...checkpoints, "--data", data);
    assert.equal(refused.code, 2, refused.stderr);
    const line = oneLine(refused.stderr);
    assert.match(line, /weights\.01\.hdf5: \(keras-h5\) records no architecture; pass --architecture /);
    assert.ok(line.includes(`--architecture ${full} (a full model with the same weights)`), line);
    const inspected = await runCli("inspect", checkpoints[0]!);
    assert.equal(inspected.code, 0, inspected.stderr);
    assert.ok(
      inspected.stdout.includes(`warning: records no architecture; pass --architecture ${full}`),
      inspected.stdout,
    );
  });

  it("names the real Keras 2.2.2 LeNet full model beside its weights-only file", async () => {
    const folder = join(dir, "lenet");
    await mkdir(folder);
    const weights = join(folder, "weights.hdf5");
    await copyFile(join(LENET, "keras222_weightsonly_weights.h5"), weights);
    await copyFile(join(LENET, "keras222_weightsonly_weights.h5"), join(folder, "weights-2.hdf5"));
    await copyFile(join(LENET, "keras222_full_keras_seq_model.h5"), join(folder, "lenet.h5"));
    const refused = await runCli("evaluate", weights, join(folder, "weights-2.hdf5"), "--data", data);
    assert.equal(refused.code, 2, refused.stderr);
    assert.ok(oneLine(refused.stderr).includes(`pass --architecture ${join(folder, "lenet.h5")} (a full model`));
  });

  it("evaluate: each checkpoint scores as the model it was written from, with a full model or a topology JSON", async () => {
    const originals = ["good-1", "good-2", "good-3"].map((n) => join(FAMILY, n, "model.json"));
    const own = await runCli("evaluate", ...originals, "--data", data, "--json");
    assert.equal(own.code, 0, own.stderr);
    const expected = (JSON.parse(own.stdout) as { metrics: { ingredients: { loss: number }[] } }).metrics;
    for (const architecture of [full, topology]) {
      const run = await runCli("evaluate", ...checkpoints, "--data", data, "--architecture", architecture, "--json");
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(run.stdout) as { metrics: { ingredients: { loss: number }[] } };
      assert.deepEqual(
        report.metrics.ingredients.map((m) => m.loss),
        expected.ingredients.map((m) => m.loss),
        `with --architecture ${architecture}`,
      );
    }
  });

  it("refuses an architecture the checkpoints do not fit, in one line naming both files and the first mismatch", async () => {
    const renamed = join(dir, "arch", "renamed.h5");
    await writeKeras2File(join(FAMILY, "good-1", "model.json"), renamed, { full: true, rename: { output: "logits" } });
    const byName = await runCli("evaluate", ...checkpoints, "--data", data, "--architecture", renamed);
    assert.equal(byName.code, 2, byName.stderr);
    assert.equal(
      oneLine(byName.stderr),
      `model-soup evaluate: ${checkpoints[0]}: does not fit the architecture of ${renamed}: it has no weights for layer "logits" (Dense)`,
    );
    const narrower = join(dir, "arch", "narrow.json");
    await writeFile(narrower, (await readFile(topology, "utf8")).replace('"units":32', '"units":16'));
    const byShape = await runCli(
      "greedy",
      ...checkpoints,
      "--data",
      data,
      "--architecture",
      narrower,
      "--out",
      join(dir, "never.h5"),
    );
    assert.equal(byShape.code, 2, byShape.stderr);
    const line = oneLine(byShape.stderr);
    assert.ok(line.includes(`${checkpoints[0]}: does not fit the architecture of ${narrower}: `), line);
    assert.match(line, /"hidden1\/kernel:0" of layer "hidden1" \(Dense\) has shape \[64, 32\]/);
  });

  it("learn with --architecture and --test: test rows only from the test file, both recorded in the recipe", async () => {
    const out = join(dir, "learned", "soup.h5");
    const run = await runCli(
      "learn",
      ...checkpoints,
      "--data",
      data,
      "--test",
      test,
      "--architecture",
      full,
      "--steps",
      "40",
      "--out",
      out,
      "--json",
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as {
      split: { learn: number; validation: number; test: number; testFrom: string; testFile: string; testNote?: string };
      output: { recipe: string };
    };
    assert.equal(report.split.learn + report.split.validation, 600);
    assert.equal(report.split.validation, 150, "75 % / 25 % of the learning data");
    assert.equal(report.split.test, 299);
    assert.equal(report.split.testFrom, "file");
    assert.equal(report.split.testFile, test);
    assert.equal(report.split.testNote, undefined);
    const recipe = JSON.parse(await readFile(report.output.recipe, "utf8")) as {
      architecture: { path: string; sha256: string };
      data: { test: { path: string; sha256: string }; fractions: Record<string, number> };
    };
    const recipeDir = dirname(report.output.recipe);
    assert.equal(resolve(recipeDir, recipe.architecture.path), resolve(full));
    assert.equal(recipe.architecture.sha256, await sha256(full));
    assert.equal(resolve(recipeDir, recipe.data.test.path), resolve(test));
    assert.equal(recipe.data.test.sha256, await sha256(test));
    assert.deepEqual(recipe.data.fractions, { learn: 0.75, validation: 0.25, test: 0 });
    // The written soup is a weights-only file of the same layout: it runs with the same architecture.
    const scored = await runCli("evaluate", out, checkpoints[0]!, "--data", data, "--architecture", full);
    assert.equal(scored.code, 0, scored.stderr);
  });

  it("says where the test rows came from: the user's file, or drawn from the learning data (a warning line)", async () => {
    const own = await runCli("evaluate", ...checkpoints, "--data", data, "--test", test, "--architecture", full);
    assert.equal(own.code, 0, own.stderr);
    assert.match(
      own.stdout,
      new RegExp(`Test rows: 299 from .*held-out\\.csv, your own held-out rows \\(learn 450, validation 150,`),
    );
    assert.doesNotMatch(own.stdout, /may be among/);
    const drawn = await runCli("evaluate", ...checkpoints, "--data", data, "--architecture", full, "--json");
    assert.equal(drawn.code, 0, drawn.stderr);
    const split = (JSON.parse(drawn.stdout) as { split: Record<string, unknown> }).split;
    assert.equal(split.testFrom, "data");
    assert.equal(split.test, 120);
    assert.equal(
      split.testNote,
      "Rows the models were trained on may be among these test rows: --test <file> takes your own held-out rows.",
    );
    const text = await runCli(
      "greedy",
      ...checkpoints,
      "--data",
      data,
      "--architecture",
      topology,
      "--out",
      join(dir, "greedy", "soup.h5"),
    );
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /Test split: 120 samples drawn from the learning data/);
    assert.match(
      text.stdout,
      /\nRows the models were trained on may be among these test rows: --test <file> takes your own held-out rows\.\n/,
    );
  });

  it("refuses a test file with another number of features or classes, in one line naming it", async () => {
    const narrow = join(dir, "narrow.csv");
    const rows = (await readFile(test, "utf8")).trim().split("\n");
    await writeFile(narrow, `${rows.map((r) => r.split(",").slice(1).join(",")).join("\n")}\n`);
    const features = await runCli("evaluate", ...checkpoints, "--data", data, "--test", narrow, "--architecture", full);
    assert.equal(features.code, 2, features.stderr);
    assert.match(oneLine(features.stderr), new RegExp(`${narrow.replaceAll(".", "\\.")}: rows have 63 features`));
    const classes = join(dir, "classes.csv");
    await writeFile(classes, `${rows.map((r) => r.replace(/,\d+$/, ",12")).join("\n")}\n`);
    const beyond = await runCli("evaluate", ...checkpoints, "--data", data, "--test", classes, "--architecture", full);
    assert.equal(beyond.code, 2, beyond.stderr);
    assert.match(
      oneLine(beyond.stderr),
      new RegExp(`${classes.replaceAll(".", "\\.")}: (column \\d+: )?sample 0 has class 12`),
    );
  });

  it("merge --method regmean with --architecture writes a recipe that apply reproduces", async () => {
    const out = join(dir, "regmean", "soup.h5");
    const run = await runCli(
      "merge",
      ...checkpoints,
      "--method",
      "regmean",
      "--data",
      data,
      "--architecture",
      full,
      "--out",
      out,
      "--json",
    );
    assert.equal(run.code, 0, run.stderr);
    const recipePath = (JSON.parse(run.stdout) as { output: { recipe: string } }).output.recipe;
    const recipe = JSON.parse(await readFile(recipePath, "utf8")) as { architecture: { sha256: string } };
    assert.equal(recipe.architecture.sha256, await sha256(full));
    const again = join(dir, "regmean-again", "soup.h5");
    const applied = await runCli("apply", recipePath, "--out", again);
    assert.equal(applied.code, 0, applied.stderr);
    const values = async (path: string) => {
      const r = await runCli("evaluate", path, checkpoints[0]!, "--data", data, "--architecture", full, "--json");
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { metrics: { ingredients: { loss: number }[] } }).metrics.ingredients[0]!.loss;
    };
    assert.equal(await values(again), await values(out));
  });

  it("merge --align with --architecture: the aligned merge's recipe records it, and apply writes the same file", async () => {
    const out = join(dir, "aligned", "soup.h5");
    const run = await runCli(
      "merge",
      ...checkpoints.slice(0, 2),
      "--align",
      "weight",
      "--architecture",
      full,
      "--out",
      out,
    );
    assert.equal(run.code, 0, run.stderr);
    const recipe = join(dir, "aligned", "soup.recipe.json");
    const recorded = JSON.parse(await readFile(recipe, "utf8")) as { architecture: { path: string } };
    assert.equal(resolve(dirname(recipe), recorded.architecture.path), resolve(full));
    const again = join(dir, "aligned-again", "soup.h5");
    const applied = await runCli("apply", recipe, "--out", again);
    assert.equal(applied.code, 0, applied.stderr);
    assert.deepEqual(await readFile(again), await readFile(out));
  });

  it("Keras 3 .weights.h5 files: refused naming the .keras beside them, and run with it as --architecture", async () => {
    const folder = join(dir, "keras3");
    await mkdir(folder);
    const weights: string[] = [];
    for (const name of ["mlp_a", "mlp_b"]) {
      const keras = join(KERAS3, `${name}.keras`);
      const target = join(folder, `${name}.weights.h5`);
      await extractZipEntry(keras, (await readKerasArchive(keras)).weights, target);
      weights.push(target);
    }
    const full3 = join(folder, "mlp_a.keras");
    await copyFile(join(KERAS3, "mlp_a.keras"), full3);
    const rows = Array.from({ length: 60 }, (_, i) =>
      [...Array.from({ length: 8 }, (_, j) => Math.sin(i * 3 + j * 1.7).toFixed(3)), i % 3].join(","),
    );
    const table = join(folder, "rows.csv");
    await writeFile(table, `${rows.join("\n")}\n`);
    const refused = await runCli("evaluate", ...weights, "--data", table);
    assert.equal(refused.code, 2, refused.stderr);
    assert.ok(oneLine(refused.stderr).includes(`records no architecture; pass --architecture ${full3} (a full model`));
    const losses = async (...args: string[]) => {
      const run = await runCli("evaluate", ...args, "--data", table, "--json");
      assert.equal(run.code, 0, run.stderr);
      return (JSON.parse(run.stdout) as { metrics: { ingredients: { loss: number }[] } }).metrics.ingredients.map(
        (m) => m.loss,
      );
    };
    assert.deepEqual(
      await losses(...weights, "--architecture", full3),
      await losses(join(KERAS3, "mlp_a.keras"), join(KERAS3, "mlp_b.keras")),
    );
  });

  it("a folder of weights-only checkpoints with their full model: one line says whose architecture ran them", async () => {
    const folder = join("test", "fixtures", "real-families", "checkpoints");
    const run = await runCli("evaluate", folder, "--data", join(folder, "..", "table.csv"));
    assert.equal(run.code, 0, run.stderr);
    const printed = run.stdout + run.stderr;
    assert.doesNotMatch(printed, /architecture is unknown/);
    const lines = printed.split("\n").filter((l) => l.includes("weights-only"));
    assert.equal(lines.length, 1, printed);
    assert.match(
      lines[0]!,
      /weights\.07\.h5, weights\.08\.h5, weights\.09\.h5, weights\.10\.h5: weights-only, run with the architecture of .*model\.h5$/,
    );
  });
});
