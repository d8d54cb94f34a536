/**
 * What you see is what you get, on a family shaped like real ones: k-fold binary classifiers trained from scratch
 * (Dense + BatchNormalization + Dropout, 2-way softmax) on overlapping rows of an imbalanced table. Every written
 * file is scored here independently of the job that wrote it: read through the format reader and run by a plain
 * JavaScript forward pass.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { float32Tensors } from "../support/model-files.js";
import { loadDataset, splitDataset } from "../../src/core/data/index.js";
import { sha256File } from "../../src/core/recipe/hash.js";
import { runMerge } from "../../src/core/soup/fixed-merge.js";
import { saveRequest } from "../../src/host/panel-request.js";
import { DEFAULT_CONFIG, type MergeConfig } from "../../src/protocol/panel.js";
import type { EvaluateReport, MergeParams, SoupReport } from "../../src/protocol/worker.js";
import { mulberry32 } from "../../src/core/random.js";
import { saveWithTfjs } from "../core/formats/tfjs-helpers.js";
import { taskFor } from "../../src/worker/evaluate/evaluate.js";
import { disposeJobData, loadJobData } from "../../src/worker/jobs/session/data.js";
import { checkWrittenSoup } from "../../src/worker/jobs/session/verify.js";
import { disposeProblem, loadProblem } from "../../src/worker/jobs/session/problem.js";
import { runCli } from "./run-cli.js";

const FEATURES = 6;
const ROWS = 360;

/** An imbalanced binary table (about 15 % positives), features far from zero mean and unit scale. */
function table(seed: number): { x: number[][]; y: number[] } {
  const random = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < ROWS; i++) {
    const z = Array.from({ length: FEATURES }, normal);
    const score = z[0]! + 0.7 * z[1]! - 0.5 * z[2]! * z[3]! + 0.4 * normal();
    y.push(score > 1.3 ? 1 : 0);
    x.push(z.map((v, k) => 2 + (k + 1) * v));
  }
  return { x, y };
}

function classifier(seed: number): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed * 10 + s });
  const model = tf.sequential();
  model.add(
    tf.layers.dense({ name: "d1", inputShape: [FEATURES], units: 12, activation: "relu", kernelInitializer: init(1) }),
  );
  model.add(tf.layers.batchNormalization({ name: "bn1" }));
  model.add(tf.layers.dropout({ name: "drop1", rate: 0.2, seed }));
  model.add(tf.layers.dense({ name: "d2", units: 8, activation: "relu", kernelInitializer: init(2) }));
  model.add(tf.layers.batchNormalization({ name: "bn2" }));
  model.add(tf.layers.dense({ name: "out", units: 2, activation: "softmax", kernelInitializer: init(3) }));
  return model;
}

/** Fold k of `folds`: trained on every row but its own chunk (so folds share most of their rows). */
async function trainFold(data: { x: number[][]; y: number[] }, k: number, folds: number, epochs: number) {
  const rows = data.x.map((_, i) => i).filter((i) => i % folds !== k);
  const model = classifier(k + 1);
  model.compile({ optimizer: tf.train.adam(0.02), loss: "sparseCategoricalCrossentropy" });
  const x = tf.tensor2d(rows.map((i) => data.x[i]!));
  const y = tf.tensor1d(
    rows.map((i) => data.y[i]!),
    "float32",
  );
  if (epochs > 0) await model.fit(x, y, { epochs, batchSize: 32, shuffle: false, verbose: 0 });
  tf.dispose([x, y]);
  return model;
}

/** Plain-JS inference of the family's architecture (Dropout is the identity at inference). */
function forward(w: Map<string, Float32Array>, x: readonly number[]): number[] {
  const dense = (name: string, input: readonly number[], units: number, relu: boolean) => {
    const kernel = w.get(`${name}/kernel`)!;
    const bias = w.get(`${name}/bias`)!;
    return Array.from({ length: units }, (_, j) => {
      let s = bias[j]!;
      for (let i = 0; i < input.length; i++) s += input[i]! * kernel[i * units + j]!;
      return relu ? Math.max(0, s) : s;
    });
  };
  const norm = (name: string, input: number[]) =>
    input.map((v, c) => {
      const g = w.get(`${name}/gamma`)![c]!;
      const b = w.get(`${name}/beta`)![c]!;
      const m = w.get(`${name}/moving_mean`)![c]!;
      const s = w.get(`${name}/moving_variance`)![c]!;
      return (g * (v - m)) / Math.sqrt(s + 1e-3) + b;
    });
  const h1 = norm("bn1", dense("d1", x, 12, true));
  const h2 = norm("bn2", dense("d2", h1, 8, true));
  const logits = dense("out", h2, 2, false);
  const top = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** Cross-entropy and accuracy of a written model on the job's test split (the same seeded split, made here). */
async function scoreFile(path: string, dataPath: string): Promise<{ loss: number; metric: number }> {
  const split = splitDataset(await loadDataset(dataPath), { seed: 0 });
  const w = await float32Tensors(path);
  const n = split.test.y!.length;
  let loss = 0;
  let correct = 0;
  for (let r = 0; r < n; r++) {
    const x = Array.from(split.test.x.subarray(r * FEATURES, (r + 1) * FEATURES));
    const p = forward(w, x);
    const label = split.test.y![r]!;
    loss -= Math.log(Math.max(p[label]!, 1e-7));
    correct += (p[1]! > p[0]! ? 1 : 0) === label ? 1 : 0;
  }
  return { loss: loss / n, metric: correct / n };
}

function closeLoss(file: number, reported: number, what: string): void {
  assert.ok(Math.abs(file - reported) <= 1e-4 * Math.abs(reported), `${what}: file ${file}, report ${reported}`);
}

async function cli(...args: string[]): Promise<SoupReport> {
  const run = await runCli(...args, "--backend", "cpu", "--json");
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as SoupReport;
}

async function recipeOf(report: SoupReport) {
  return JSON.parse(await readFile(report.output!.recipe, "utf8"));
}

/** What every recipe of a soup made on data records: the data as it was read and split, metrics, backend. */
interface RecipeJson {
  data: { path: string; sha256: string; seed: number; fractions: Record<string, number>; loss?: string };
  backend: string;
  metrics: { merged: { loss: number } };
}

async function assertDataRecord(recipe: RecipeJson, recipePath: string, dataPath: string, loss = true) {
  assert.equal(recipe.data.path, relative(dirname(recipePath), resolve(dataPath)));
  assert.equal(recipe.data.sha256, await sha256File(dataPath));
  assert.equal(recipe.data.seed, 0);
  assert.deepEqual(recipe.data.fractions, { learn: 0.6, validation: 0.2, test: 0.2 });
  if (loss) assert.equal(typeof recipe.data.loss, "string");
  assert.equal(recipe.backend, "cpu");
  assert.equal(typeof recipe.metrics.merged.loss, "number");
}

describe("what you see is what you get: k-fold BatchNormalization + Dropout classifiers", function () {
  let dir: string;
  let dataPath: string;
  let folds: string[];
  let untrained: string;
  before(async () => {
    await tf.setBackend("cpu");
    dir = await mkdtemp(join(tmpdir(), "soup-wysiwyg-"));
    const data = table(7);
    dataPath = join(dir, "table.json");
    await writeFile(dataPath, JSON.stringify(data));
    folds = [];
    for (let k = 0; k < 3; k++) {
      const folder = join(dir, `fold_${k + 1}`);
      await mkdir(folder);
      const model = await trainFold(data, k, 3, 12);
      folds.push(await saveWithTfjs(model, folder));
      model.dispose();
    }
    // A network trained to predict the opposite class: no soup with it is better than the fold alone ...
    const folder = join(dir, "opposite");
    await mkdir(folder);
    const model = await trainFold({ x: data.x, y: data.y.map((v) => 1 - v) }, 1, 3, 12);
    // ... loudly so: its output layer scaled up, so even a small share of it in a soup decides the prediction.
    const out = model.getLayer("out");
    out.setWeights(out.getWeights().map((w) => w.mul(100)));
    untrained = await saveWithTfjs(model, folder);
    model.dispose();
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  let learned: SoupReport;

  it("learn: the written file scores what the report says, the greedy soup is a row, the recipe records the run", async () => {
    learned = await cli("learn", ...folds, "--data", dataPath, "--out", join(dir, "learned"));
    const file = await scoreFile(learned.output!.model, dataPath);
    closeLoss(file.loss, learned.metrics.merged.loss, "learned soup");
    assert.ok(Math.abs(file.metric - learned.metrics.merged.metric) < 1e-6);
    assert.deepEqual(
      learned.metrics.methods?.map((m) => m.method),
      ["greedy soup"],
    );
    const recipe = await recipeOf(learned);
    assert.equal(recipe.origin, "learned");
    assert.equal(recipe.merge.method, "linear");
    assert.equal(recipe.learning.kept, learned.learning!.kept);
    assert.match(recipe.learning.batchNorm, /^(averaged|re-estimated)$/);
    // Re-estimated statistics are written as they were scored, and only then.
    assert.equal(recipe.overrides !== undefined, recipe.learning.batchNorm === "re-estimated");
    await assertDataRecord(recipe, learned.output!.recipe, dataPath);
    // Every candidate the learner compared is reported (uniform soup, each fold, greedy soup).
    assert.equal(learned.learning!.candidates.length, 5);
    process.stdout.write(
      `      learned ${learned.learning!.kept} (${recipe.learning.batchNorm}): ${(100 * file.metric).toFixed(2)} % / ${file.loss.toFixed(4)}; ` +
        `uniform ${(100 * learned.metrics.uniform.metric).toFixed(2)} % / ${learned.metrics.uniform.loss.toFixed(4)}; ` +
        `greedy ${(100 * learned.metrics.methods![0]!.metric).toFixed(2)} %; best fold ${(100 * Math.max(...learned.metrics.ingredients.map((i) => i.metric))).toFixed(2)} %; ` +
        `ensemble ${(100 * learned.metrics.ensemble.metric).toFixed(2)} %\n`,
    );
  });

  it("greedy and evaluate print the same uniform soup and greedy soup rows as learn; greedy's file scores as reported", async () => {
    const greedy = await cli("greedy", ...folds, "--data", dataPath, "--out", join(dir, "greedy"));
    const evaluated = (await cli("evaluate", ...folds, "--data", dataPath)) as unknown as EvaluateReport;
    // The panel saves its uniform soup with this record: the statistics it was scored with, the data, the metrics.
    const uniformRecord = evaluated.records!.uniform;
    assert.equal(uniformRecord.origin, "uniform");
    assert.equal(uniformRecord.overrides !== undefined, uniformRecord.learning!.batchNorm === "re-estimated");
    assert.deepEqual((uniformRecord.metrics as { merged: unknown }).merged, evaluated.metrics.uniform);
    assert.deepEqual(greedy.metrics.uniform, learned.metrics.uniform);
    assert.deepEqual(evaluated.metrics.uniform, learned.metrics.uniform);
    assert.deepEqual(greedy.metrics.ensemble, learned.metrics.ensemble);
    assert.deepEqual(evaluated.metrics.ensemble, learned.metrics.ensemble);
    closeLoss(greedy.metrics.merged.loss, learned.metrics.methods![0]!.loss, "greedy row in learn");
    const file = await scoreFile(greedy.output!.model, dataPath);
    closeLoss(file.loss, greedy.metrics.merged.loss, "greedy soup");
    const recipe = await recipeOf(greedy);
    assert.equal(recipe.origin, "greedy");
    assert.ok(Array.isArray(recipe.learning.kept));
    await assertDataRecord(recipe, greedy.output!.recipe, dataPath);
  });

  it("a single model kept as it is is written bit-identical to its file", async () => {
    // A trained fold and its opposite: no soup of them beats the fold on validation in one step.
    const report = await cli(
      "learn",
      folds[0]!,
      untrained,
      "--data",
      dataPath,
      "--steps",
      "1",
      "--out",
      join(dir, "single"),
    );
    assert.equal(report.learning!.kept, "fold_1/model.json", JSON.stringify(report.learning!.candidates));
    const written = await float32Tensors(report.output!.model);
    const own = await float32Tensors(folds[0]!);
    assert.deepEqual([...written.keys()].sort(), [...own.keys()].sort());
    for (const [name, values] of own) {
      assert.deepEqual(Buffer.from(written.get(name)!.buffer), Buffer.from(values.buffer), name);
    }
    const recipe = await recipeOf(report);
    assert.equal(recipe.overrides, undefined);
    assert.equal(recipe.learning.batchNorm, "averaged");
    const file = await scoreFile(report.output!.model, dataPath);
    closeLoss(file.loss, report.metrics.merged.loss, "kept fold");
    closeLoss(file.loss, report.metrics.ingredients[0]!.loss, "kept fold against its own row");
  });

  it("recipes of a fixed merge, RegMean, an aligned merge, and the panel's save of a learned soup", async () => {
    const fixed = await runCli("merge", ...folds, "--out", join(dir, "fixed"), "--json");
    assert.equal(fixed.code, 0, fixed.stderr);
    const fixedRecipe = JSON.parse(await readFile(JSON.parse(fixed.stdout).recipe, "utf8"));
    assert.equal(fixedRecipe.origin, "uniform");
    assert.equal(fixedRecipe.merge.method, "uniform");
    assert.equal(fixedRecipe.data, undefined);

    const regmean = await cli(
      "merge",
      ...folds,
      "--method",
      "regmean",
      "--data",
      dataPath,
      "--out",
      join(dir, "regmean"),
    );
    const regmeanFile = await scoreFile(regmean.output!.model, dataPath);
    closeLoss(regmeanFile.loss, regmean.metrics.merged.loss, "RegMean");
    const regmeanRecipe = await recipeOf(regmean);
    assert.equal(regmeanRecipe.origin, "regmean");
    assert.equal(regmeanRecipe.merge.method, "regmean");
    assert.equal(regmeanRecipe.learning.statistics.split, "learn");
    await assertDataRecord(regmeanRecipe, regmean.output!.recipe, dataPath);
    assert.deepEqual(regmean.metrics.uniform, learned.metrics.uniform);

    const aligned = await runCli(
      "align",
      ...folds,
      "--method",
      "activation",
      "--data",
      dataPath,
      "--out",
      join(dir, "aligned"),
      "--backend",
      "cpu",
      "--json",
    );
    assert.equal(aligned.code, 0, aligned.stderr);
    const alignedOutputs = JSON.parse(aligned.stdout).outputs as { recipe: string }[];
    assert.equal(alignedOutputs.length, 3);
    const alignedRecipe = JSON.parse(await readFile(alignedOutputs[1]!.recipe, "utf8"));
    assert.equal(alignedRecipe.origin, "aligned");
    assert.equal(alignedRecipe.alignment.method, "activation");
    assert.equal(alignedRecipe.alignment.permutations.length, 1);
    const alignedData = { ...alignedRecipe, metrics: { merged: { loss: 0 } } };
    await assertDataRecord(alignedData, alignedOutputs[1]!.recipe, dataPath, false);

    // The panel saves the learned soup it showed: the merge request carries the learn job's record.
    const config: MergeConfig = {
      ...DEFAULT_CONFIG,
      method: "learned",
      ingredients: folds.map((path) => ({ path, include: true, coefficient: 1 })),
      data: { path: dataPath },
    };
    const out = join(dir, "panel", "model.json");
    const job = saveRequest({
      config,
      panelModels: folds,
      reported: learned.coefficients,
      record: learned.record!,
      out,
      jobId: "save-1",
    });
    assert.equal(job.request, "merge");
    const saved = await runMerge(
      job.params as MergeParams,
      { token: undefined, progress: () => {}, log: () => {} } as never,
    );
    const panelRecipe = JSON.parse(await readFile(saved.recipe, "utf8"));
    const cliRecipe = await recipeOf(learned);
    for (const key of ["origin", "learning", "metrics", "backend", "overrides"])
      assert.deepEqual(panelRecipe[key], cliRecipe[key], key);
    assert.equal(panelRecipe.merge.method, "linear");
    await assertDataRecord(panelRecipe, saved.recipe, dataPath);
    const file = await scoreFile(saved.model, dataPath);
    closeLoss(file.loss, learned.metrics.merged.loss, "the panel's saved learned soup");
  });

  it("a written file that does not score as reported is removed, with an error naming both figures", async () => {
    const out = join(dir, "refused", "model.json");
    const saved = await runMerge(
      { models: folds, method: "uniform", out } as MergeParams,
      {
        token: undefined,
        progress: () => {},
        log: () => {},
      } as never,
    );
    const loaded = await loadProblem(folds);
    const data = await loadJobData({ path: dataPath }, loaded);
    try {
      const task = taskFor(loaded.problem, data.test, {});
      const file = await scoreFile(saved.model, dataPath);
      const report = {
        metricName: "accuracy",
        metrics: { merged: { loss: file.loss * 1.01, metric: file.metric } },
        output: { model: saved.model, recipe: saved.recipe },
      } as unknown as SoupReport;
      await assert.rejects(
        checkWrittenSoup(report, loaded, data.test, task),
        (e: Error) => e.message.includes(String(file.loss * 1.01)) && /scores test loss 0\.\d+/.test(e.message),
      );
      await assert.rejects(stat(saved.model));
      await assert.rejects(stat(saved.recipe));
      // Within float tolerance the report takes the file's own figures.
      const kept = await runMerge(
        { models: folds, method: "uniform", out } as MergeParams,
        {
          token: undefined,
          progress: () => {},
          log: () => {},
        } as never,
      );
      const close = {
        metricName: "accuracy",
        metrics: { merged: { loss: file.loss * (1 + 1e-6), metric: 0 } },
        output: { model: kept.model, recipe: kept.recipe },
      } as unknown as SoupReport;
      await checkWrittenSoup(close, loaded, data.test, task);
      closeLoss(close.metrics.merged.loss, file.loss, "file figures");
      assert.ok(Math.abs(close.metrics.merged.metric - file.metric) < 1e-6);
      await stat(kept.model);
    } finally {
      disposeJobData(data);
      disposeProblem(loaded);
    }
  });
});
