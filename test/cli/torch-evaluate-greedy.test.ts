/**
 * `model-soup evaluate` and `model-soup greedy` on PyTorch models through the real CLI and the user's own torch
 * (/usr/bin/python3 here): every row of the table is checked against plain torch (torch_soup_reference.py: each
 * TorchScript file, the weighted sums of their tensors, the mean of their softmax probabilities; no Model Soup
 * code), the greedy soup's written file is scored by plain torch (torch_written_score.py) and its recipe reproduces
 * it, and a data file without labels ends either command in one line naming it.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PythonWithTorch } from "../../src/core/python/find-python.js";
import type { EvaluateReport, MetricPair, SoupReport } from "../../src/protocol/worker.js";
import { fixture, requireTorch } from "../worker/torch/support.js";
import { runCli } from "./run-cli.js";
import { oneLine, plainTorchScore, writeData } from "./torch-cli-support.js";

const REFERENCE = join(import.meta.dirname, "torch_soup_reference.py");

interface Plain {
  loss: number;
  accuracy: number;
}

/** torch_soup_reference.py's scores of the models, the soups asked for and the ensemble. */
function plainSoups(
  python: string,
  request: { models: string[]; data: string; soups?: Array<{ weights: number[]; overrides?: unknown }> },
): { ingredients: Plain[]; soups: Plain[]; ensemble: Plain } {
  const out = execFileSync(python, [REFERENCE, JSON.stringify(request)], { encoding: "utf8", timeout: 120_000 });
  return JSON.parse(out.trim().split("\n").at(-1)!) as { ingredients: Plain[]; soups: Plain[]; ensemble: Plain };
}

/** A report's row is plain torch's figure: the loss to float32 rounding, the accuracy exactly (40 rows). */
function sameFigures(row: MetricPair, plain: Plain, what: string): void {
  assert.ok(Math.abs(row.loss - plain.loss) <= 1e-5 * plain.loss, `${what}: loss ${row.loss} vs plain ${plain.loss}`);
  assert.ok(Math.abs(row.metric - plain.accuracy) < 1e-6, `${what}: accuracy ${row.metric} vs plain ${plain.accuracy}`);
}

/** The state dict of a written .pt (TorchScript or torch.save) and of its re-application are equal, tensor by tensor. */
function sameTensors(python: string, a: string, b: string): void {
  const script = [
    "import sys, zipfile, torch",
    "def sd(p):",
    "    if any('/code/' in n for n in zipfile.ZipFile(p).namelist()): return torch.jit.load(p).state_dict()",
    "    return torch.load(p, weights_only=True)",
    "x, y = sd(sys.argv[1]), sd(sys.argv[2])",
    "assert sorted(x) == sorted(y), (sorted(x), sorted(y))",
    "bad = [k for k in x if not torch.equal(x[k], y[k])]",
    "assert not bad, bad",
    "print(len(x))",
  ].join("\n");
  const count = Number(execFileSync(python, ["-c", script, a, b], { encoding: "utf8" }).trim());
  assert.ok(count > 0, "the files hold tensors");
}

describe("model-soup evaluate and greedy on PyTorch models", function () {
  this.timeout(300_000);
  let python: PythonWithTorch;
  let dir: string;
  let models: string[];

  before(async function () {
    python = await requireTorch(this);
    dir = await mkdtemp(join(tmpdir(), "model-soup-torch-evaluate-"));
    writeData(python.path, dir);
    execFileSync(python.path, [
      "-c",
      "import sys, numpy as np; np.savez(sys.argv[2], x=np.load(sys.argv[1])['x'])",
      join(dir, "held.npz"),
      join(dir, "unlabelled.npz"),
    ]);
    await mkdir(join(dir, "ts"));
    for (const i of [0, 1, 2]) await copyFile(fixture(`mlp_ft${i}.ts.pt`), join(dir, "ts", `mlp_ft${i}.ts.pt`));
    models = [0, 1, 2].map((i) => join(dir, "ts", `mlp_ft${i}.ts.pt`));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("evaluate: each ingredient, the uniform soup (with the statistics it records) and the ensemble are plain torch's figures", async () => {
    const reportFile = join(dir, "evaluate.json");
    const run = await runCli(
      ...["evaluate", join(dir, "ts"), "--data", join(dir, "data.npz"), "--label", "y"],
      ...["--test", join(dir, "held.npz"), "--report", reportFile],
    );
    assert.equal(run.code, 0, run.stderr);
    for (const row of ["mlp_ft0.ts.pt", "mlp_ft1.ts.pt", "mlp_ft2.ts.pt", "uniform soup", "output ensemble"])
      assert.match(run.stdout, new RegExp(row), row);
    assert.doesNotMatch(run.stdout, /weighted average/);
    assert.match(run.stdout, /Test rows: 40 from \S*held\.npz.*backend PyTorch \d+\.\d+[^,]*, cpu, /);
    assert.match(run.stdout, /Mergeability \(3 pairs, validation split\)/);
    const report = JSON.parse(await readFile(reportFile, "utf8")) as EvaluateReport;
    assert.match(report.backend, /^PyTorch /);
    assert.equal(report.metricName, "accuracy");
    assert.equal(report.metrics.merged, undefined);
    assert.deepEqual(
      report.metrics.ingredients.map((r) => r.model),
      models,
    );
    assert.equal(report.mergeability.length, 3);
    assert.deepEqual(report.warnings, []);
    // The uniform soup is recorded as it was scored: averaged statistics, or re-estimated ones as overrides.
    const uniform = report.records!.uniform;
    assert.equal(uniform.origin, "uniform");
    const batchNorm = (uniform.learning as { batchNorm: string }).batchNorm;
    assert.ok(batchNorm === "re-estimated" || batchNorm === "averaged", batchNorm);
    assert.equal(uniform.overrides !== undefined, batchNorm === "re-estimated");
    if (uniform.overrides !== undefined)
      assert.deepEqual(Object.keys(uniform.overrides).sort(), ["1.running_mean", "1.running_var"]);

    const plain = plainSoups(python.path, {
      models,
      data: join(dir, "held.npz"),
      soups: [{ weights: [1 / 3, 1 / 3, 1 / 3], ...(uniform.overrides ? { overrides: uniform.overrides } : {}) }],
    });
    report.metrics.ingredients.forEach((row, i) => sameFigures(row, plain.ingredients[i]!, row.model));
    sameFigures(report.metrics.uniform, plain.soups[0]!, "uniform soup");
    sameFigures(report.metrics.ensemble, plain.ensemble, "output ensemble");
  });

  it("a --test file whose rows are the learning data's is said in the report, not taken as held out", async () => {
    const run = await runCli(
      ...["evaluate", ...models, "--data", join(dir, "data.npz"), "--label", "y"],
      ...["--test", join(dir, "data.npz"), "--json"],
    );
    assert.equal(run.code, 0, run.stderr);
    const warnings = (JSON.parse(run.stdout) as EvaluateReport).warnings;
    assert.ok(
      warnings.some((w) =>
        /data\.npz: every test row is also a row of the learning data .*data\.npz: the test scores are not of held-out rows/.test(
          w,
        ),
      ),
      warnings.join("\n"),
    );
    const held = await runCli(
      ...["evaluate", ...models, "--data", join(dir, "data.npz"), "--label", "y"],
      ...["--test", join(dir, "held.npz"), "--json"],
    );
    assert.equal(held.code, 0, held.stderr);
    assert.ok(!(JSON.parse(held.stdout) as EvaluateReport).warnings.some((w) => w.includes("held-out")));
  });

  it("evaluate --weights adds the weighted soup: the weights used as given, statistics included", async () => {
    // Weights that do not sum to 1: a soup normalised behind the user's back would score otherwise.
    const weights = [0.2, 0.3, 0.6];
    const run = await runCli(
      ...["evaluate", ...models, "--data", join(dir, "data.npz"), "--label", "y"],
      ...["--test", join(dir, "held.npz"), "--weights", weights.join(","), "--json"],
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as EvaluateReport;
    assert.equal(report.method, "weighted average");
    assert.deepEqual(report.coefficients, weights);
    assert.ok(report.metrics.merged !== undefined, "the merged row");
    assert.equal(report.records?.merged?.origin, "manual");
    const plain = plainSoups(python.path, {
      models,
      data: join(dir, "held.npz"),
      soups: [{ weights }, { weights: weights.map((w) => w / 1.1) }],
    });
    sameFigures(report.metrics.merged, plain.soups[0]!, "weighted average");
    // The check can tell: the normalised soup scores otherwise.
    assert.ok(Math.abs(plain.soups[0]!.loss - plain.soups[1]!.loss) > 1e-3, "normalising changes the soup");
  });

  it("greedy --out soup.pt: plain torch scores the written file as the report's greedy row, and its recipe reproduces it", async () => {
    const out = join(dir, "soup.pt");
    const reportFile = join(dir, "greedy.json");
    const run = await runCli(
      ...["greedy", join(dir, "ts"), "--data", join(dir, "data.npz"), "--label", "y"],
      ...["--test", join(dir, "held.npz"), "--out", out, "--report", reportFile],
    );
    assert.equal(run.code, 0, run.stderr);
    for (const row of ["mlp_ft0.ts.pt", "uniform soup", "greedy soup", "output ensemble"])
      assert.match(run.stdout, new RegExp(row), row);
    assert.match(run.stdout, /Wrote \S*soup\.pt/);
    const report = JSON.parse(await readFile(reportFile, "utf8")) as SoupReport;
    assert.equal(report.method, "greedy soup");
    assert.equal(report.output?.model, out);
    const recipe = JSON.parse(await readFile(join(dir, "soup.recipe.json"), "utf8")) as {
      origin: string;
      backend: string;
      merge: { method: string; ingredients: Array<{ path: string; weight: number }> };
      learning: { kept: string[]; batchNorm: string };
      overrides?: Record<string, number[]>;
      metrics: { merged: MetricPair };
    };
    assert.equal(recipe.origin, "greedy");
    assert.match(recipe.backend, /^PyTorch /);
    assert.equal(recipe.merge.method, "linear");
    assert.deepEqual(recipe.metrics.merged, report.metrics.merged);
    assert.equal(recipe.overrides !== undefined, recipe.learning.batchNorm === "re-estimated");

    // The written file, by plain torch alone, is the report's greedy row.
    const file = plainTorchScore(python.path, { model: out, template: models[0]!, data: join(dir, "held.npz") });
    sameFigures(report.metrics.merged, file, "the written soup.pt");
    // It is the equal-weight soup of the ingredients the greedy soup kept, with the statistics the recipe records.
    const kept = recipe.learning.kept;
    assert.ok(kept.length >= 1 && kept.every((k) => models.includes(k)), kept.join(", "));
    const weights = models.map((m) => (kept.includes(m) ? 1 / kept.length : 0));
    assert.deepEqual(
      recipe.merge.ingredients.map((i) => i.weight),
      weights,
    );
    const plain = plainSoups(python.path, {
      models,
      data: join(dir, "held.npz"),
      soups: [{ weights, ...(recipe.overrides ? { overrides: recipe.overrides } : {}) }],
    });
    sameFigures(report.metrics.merged, plain.soups[0]!, "the kept ingredients' soup");
    report.metrics.ingredients.forEach((row, i) => sameFigures(row, plain.ingredients[i]!, row.model));
    sameFigures(report.metrics.ensemble, plain.ensemble, "output ensemble");

    // The recipe describes the file, and applying it gives the same tensors.
    const check = await runCli("apply", "--check", join(dir, "soup.recipe.json"));
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /^match: \S*soup\.pt is the model \S*soup\.recipe\.json describes/);
    const again = join(dir, "again.pt");
    const applied = await runCli("apply", join(dir, "soup.recipe.json"), "--out", again);
    assert.equal(applied.code, 0, applied.stderr);
    sameTensors(python.path, out, again);
  });

  it("evaluate with data without labels ends in one line naming the file", async () => {
    const run = await runCli("evaluate", join(dir, "ts"), "--data", join(dir, "unlabelled.npz"));
    assert.equal(run.code, 2, run.stderr);
    assert.match(oneLine(run.stderr), /^model-soup evaluate: \S*unlabelled\.npz: .*labels/);
  });

  it("greedy with held-out rows without labels ends in one line naming that file; nothing is written", async () => {
    const out = join(dir, "never.pt");
    const run = await runCli(
      ...["greedy", join(dir, "ts"), "--data", join(dir, "data.npz"), "--label", "y"],
      ...["--test", join(dir, "unlabelled.npz"), "--out", out],
    );
    assert.equal(run.code, 2, run.stderr);
    assert.match(oneLine(run.stderr), /^model-soup greedy: \S*unlabelled\.npz: has no array "y" for the labels/);
    assert.equal(existsSync(out), false);
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.startsWith("never")),
      [],
    );
  });

  it("RegMean on TorchScript files ends in one line naming the file and saying what to give; nothing is written", async () => {
    const out = join(dir, "never-regmean.pt");
    const run = await runCli(
      ...["merge", join(dir, "ts"), "--method", "regmean", "--data", join(dir, "data.npz"), "--label", "y"],
      ...["--out", out],
    );
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      oneLine(run.stderr),
      /^model-soup merge: \S*mlp_ft0\.ts\.pt \(TorchScript\): RegMean reads the inputs .*--architecture/,
    );
    assert.equal(existsSync(out), false);
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.startsWith("never-regmean")),
      [],
    );
  });
});
