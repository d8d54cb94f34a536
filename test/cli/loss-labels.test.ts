// `learn`, `greedy` and `evaluate` on models as users have them: trained with a custom loss (the training loss is
// only a default: one line says what is used instead), compiled with categorical_crossentropy and given a column of
// class indices, one-hot labels, 0/1 for one sigmoid unit, class names; `--loss mse` on a regression model; and the
// one-line errors for labels that cannot fit. The families are made here (seeded tfjs MLPs, TF.js model.json).
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { unzipSync, zipSync } from "fflate";
import { mulberry32 } from "../../src/core/random.js";
import { family, table, writeCsv, writeOneHotJson, type Table } from "../support/loss-family.js";
import { runCli, type CliRun } from "./run-cli.js";

const FALLBACK =
  'warning: The model\'s training loss "focal_loss_fixed" is not one Model Soup knows; using cross-entropy on the labels (choose with --loss)';

/** The table rows (model, loss, metric) of a report printed as text. */
function tableRows(text: string): string[] {
  return text.split("\n").filter((l) => /^\S.*\s{2,}\d+\.\d{4}\s+\S+/.test(l));
}

/** A copy of a Keras 3 fixture whose compile_config names another loss (the zip stays stored, as Keras writes it). */
async function withLoss(fixture: string, target: string, loss: unknown): Promise<string> {
  const entries = unzipSync(await readFile(fixture));
  const config = JSON.parse(new TextDecoder().decode(entries["config.json"]));
  config.compile_config.loss = loss;
  entries["config.json"] = new TextEncoder().encode(JSON.stringify(config));
  await writeFile(target, zipSync(entries, { level: 0 }));
  return target;
}

function lines(run: CliRun, text: string): number {
  return (run.stdout + run.stderr).split("\n").filter((l) => l === text).length;
}

function oneLineFailure(run: CliRun, pattern: RegExp): void {
  assert.equal(run.code, 2, run.stderr);
  const text = run.stderr.trim();
  assert.ok(!text.includes("\n"), `one line: ${text}`);
  assert.match(text, pattern);
}

describe("the loss is only a default, and labels as users store them (CLI)", function () {
  this.timeout(600_000); // eight small models and fourteen CLI runs; slow when the machine is shared
  let dir: string;
  const models: Record<string, string[]> = {};
  const data: Record<string, string> = {};
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-loss-labels-"));
    await tf.setBackend("cpu");
    const binary = table(400, 3, "binary");
    const regression: Table = table(400, 4, "regression");
    // The same two trainings (seeds, rows), saved with the training losses real files carry.
    models.focal = await family(dir, "focal", "softmax2", binary, { loss: "focal_loss_fixed", metrics: ["accuracy"] });
    models.categorical = await family(dir, "categorical", "softmax2", binary, { loss: "categorical_crossentropy" });
    models.sigmoid = await family(dir, "sigmoid", "sigmoid1", binary, {
      // Keras 3 serialises a plain function loss this way.
      loss: { module: "builtins", class_name: "function", config: "focal_loss_fixed", registered_name: "function" },
    });
    models.regression = await family(dir, "regression", "linear1", regression, { loss: "mse" });
    data.indices = await writeCsv(join(dir, "indices.csv"), binary, (y) => String(y));
    data.oneHot = await writeOneHotJson(join(dir, "onehot.json"), binary, 2);
    data.names = await writeCsv(join(dir, "names.csv"), binary, (y) => (y === 1 ? "malignant" : "benign"));
    data.regression = await writeCsv(join(dir, "regression.csv"), regression, (y) => y.toFixed(4));
    data.three = await writeCsv(join(dir, "three.csv"), binary, (y, i) => (i === 7 ? "3" : String(y)));
    data.half = await writeCsv(join(dir, "half.csv"), binary, (y, i) => (i === 5 ? "0.5" : String(y)));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("learn, greedy and evaluate run on models trained with a custom loss, saying once what they use", async () => {
    const runs = {
      learn: await runCli("learn", ...models.focal!, "--data", data.indices!, "--steps", "20"),
      greedy: await runCli("greedy", ...models.focal!, "--data", data.indices!, "--out", join(dir, "greedy.json")),
      evaluate: await runCli("evaluate", ...models.focal!, "--data", data.indices!),
    };
    for (const [name, run] of Object.entries(runs)) {
      assert.equal(run.code, 0, `${name}: ${run.stderr}`);
      assert.equal(lines(run, FALLBACK), 1, `${name} prints the fallback once:\n${run.stdout}${run.stderr}`);
    }
    // The fallback is cross-entropy: the same trainings saved with categorical_crossentropy score the same.
    const categorical = await runCli("evaluate", ...models.categorical!, "--data", data.indices!);
    assert.equal(categorical.code, 0, categorical.stderr);
    const numbers = (run: CliRun) => tableRows(run.stdout).map((l) => /\d+\.\d{4}\s+\S+%/.exec(l)![0]);
    assert.ok(numbers(categorical).length >= 4, categorical.stdout);
    assert.deepEqual(numbers(runs.evaluate), numbers(categorical));
    assert.equal(lines(categorical, FALLBACK), 0);
    const recipe = JSON.parse(await readFile(join(dir, "greedy.recipe.json"), "utf8"));
    assert.equal(recipe.data.loss, "sparse_categorical_crossentropy");
  });

  it("categorical_crossentropy with a column of class indices: learn, greedy and evaluate", async () => {
    const out = join(dir, "learned.json");
    const runs = [
      await runCli("learn", ...models.categorical!, "--data", data.indices!, "--steps", "20", "--out", out),
      await runCli("greedy", ...models.categorical!, "--data", data.indices!, "--out", join(dir, "g2.json")),
      await runCli("evaluate", ...models.categorical!, "--data", data.indices!, "--json"),
    ];
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(runs[2]!.stdout);
    assert.equal(report.metricName, "accuracy");
    for (const m of report.metrics.ingredients) assert.ok(m.metric > 0.7 && m.loss < 0.7, JSON.stringify(m));
    const recipe = JSON.parse(await readFile(join(dir, "learned.recipe.json"), "utf8"));
    assert.equal(recipe.learning.loss, "categorical_crossentropy");
    assert.equal(recipe.data.loss, "categorical_crossentropy");
  });

  it("one-hot labels, 0/1 for one sigmoid unit, and class names", async () => {
    const oneHot = await runCli("learn", ...models.categorical!, "--data", data.oneHot!, "--steps", "20");
    assert.equal(oneHot.code, 0, oneHot.stderr);
    // The same rows as class indices give the same table.
    const indices = await runCli("learn", ...models.categorical!, "--data", data.indices!, "--steps", "20");
    assert.deepEqual(tableRows(oneHot.stdout), tableRows(indices.stdout));

    const sigmoid = await runCli("greedy", ...models.sigmoid!, "--data", data.indices!, "--out", join(dir, "s.json"));
    assert.equal(sigmoid.code, 0, sigmoid.stderr);
    assert.equal(lines(sigmoid, FALLBACK), 1, sigmoid.stdout + sigmoid.stderr);
    assert.match(sigmoid.stdout, /accuracy/);

    const names = await runCli("evaluate", ...models.sigmoid!, "--data", data.names!);
    assert.equal(names.code, 0, names.stderr);
    const note = `warning: ${data.names}, column "target": class names numbered in sorted order: "benign" = 0, "malignant" = 1`;
    assert.equal(lines(names, note), 1, names.stdout + names.stderr);
    // benign/malignant read as 0/1: the same scores as the index column.
    const same = await runCli("evaluate", ...models.sigmoid!, "--data", data.indices!);
    assert.deepEqual(tableRows(names.stdout), tableRows(same.stdout));
  });

  it("--loss mse on a regression model; --loss crossentropy there is a one-line usage error", async () => {
    const mse = await runCli(
      "learn",
      ...models.regression!,
      "--data",
      data.regression!,
      "--loss",
      "mse",
      "--steps",
      "20",
      "--out",
      join(dir, "reg.json"),
    );
    assert.equal(mse.code, 0, mse.stderr);
    const recipe = JSON.parse(await readFile(join(dir, "reg.recipe.json"), "utf8"));
    assert.equal(recipe.learning.loss, "mean_squared_error");
    const mae = await runCli("evaluate", ...models.regression!, "--data", data.regression!, "--loss", "mae", "--json");
    assert.equal(mae.code, 0, mae.stderr);
    const report = JSON.parse(mae.stdout);
    // Scored with the mean absolute error, the loss column is the MAE column.
    for (const m of report.metrics.ingredients) assert.ok(Math.abs(m.loss - m.metric) < 1e-6, JSON.stringify(m));
    const refused = await runCli(
      "evaluate",
      ...models.regression!,
      "--data",
      data.regression!,
      "--loss",
      "crossentropy",
    );
    oneLineFailure(refused, /--loss crossentropy needs a softmax or sigmoid output .*: choose --loss mse or mae/);
  });

  it("labels that cannot fit: one line naming the file and the column", async () => {
    oneLineFailure(
      await runCli("evaluate", ...models.categorical!, "--data", data.three!),
      /three\.csv: column "target": sample 7 has class 3, beyond the model's 2 output units \(classes 0\.\.1\)/,
    );
    oneLineFailure(
      await runCli("greedy", ...models.regression!, "--data", data.names!, "--out", join(dir, "never.json")),
      /names\.csv: column "target": sample 0 has label "(benign|malignant)"; the model's loss is a regression loss, which needs numeric labels/,
    );
    oneLineFailure(
      await runCli("learn", ...models.focal!, "--data", data.half!),
      /half\.csv: column "target": sample 5 has label 0\.5; a classifier needs class indices/,
    );
  });

  it("--loss where nothing is scored is refused in one line, before any work", async () => {
    oneLineFailure(
      await runCli("merge", ...models.focal!, "--out", join(dir, "m.json"), "--loss", "mse"),
      /--loss applies to RegMean\/Fisher .* and to --align with --data/,
    );
    oneLineFailure(
      await runCli("align", ...models.focal!, "--out", join(dir, "aligned"), "--loss", "mse"),
      /--loss needs --data/,
    );
    oneLineFailure(
      await runCli("evaluate", ...models.focal!, "--data", data.indices!, "--loss", "hinge"),
      /--loss must be one of auto, crossentropy, mse, mae; got "hinge"/,
    );
  });

  it("a Keras 3 classifier compiled with a custom loss, or with categorical_crossentropy and class indices", async () => {
    // test/fixtures/keras3/mlp_*.keras: Dense(16, relu) → Dense(3, softmax) on 8 features.
    const custom = {
      module: "builtins",
      class_name: "function",
      config: "focal_loss_fixed",
      registered_name: "function",
    };
    const focal = await Promise.all(
      ["a", "b"].map((k) => withLoss(`test/fixtures/keras3/mlp_${k}.keras`, join(dir, `focal_${k}.keras`), custom)),
    );
    const categorical = await Promise.all(
      ["a", "b"].map((k) =>
        withLoss(`test/fixtures/keras3/mlp_${k}.keras`, join(dir, `cat_${k}.keras`), "categorical_crossentropy"),
      ),
    );
    const random = mulberry32(5);
    const csv = ["f0,f1,f2,f3,f4,f5,f6,f7,label"];
    for (let i = 0; i < 150; i++)
      csv.push([...Array.from({ length: 8 }, () => (random() * 2 - 1).toFixed(3)), String(i % 3)].join(","));
    const path = join(dir, "keras3.csv");
    await writeFile(path, csv.join("\n") + "\n");
    const evaluated = await runCli("evaluate", ...focal, "--data", path);
    assert.equal(evaluated.code, 0, evaluated.stderr);
    assert.equal(lines(evaluated, FALLBACK), 1, evaluated.stdout + evaluated.stderr);
    const learned = await runCli("learn", ...categorical, "--data", path, "--steps", "10");
    assert.equal(learned.code, 0, learned.stderr);
    assert.doesNotMatch(learned.stdout + learned.stderr, /broadcast|internal error/);
  });
});
