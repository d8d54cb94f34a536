/**
 * The data-aware merges (`merge --method regmean|regmean_plusplus|fisher --data`) and `evaluate --methods` on
 * PyTorch state dicts, through the real CLI and the user's own torch (/usr/bin/python3 here). Every written file is
 * held against torch_data_merge_reference.py (the papers' closed forms in NumPy float64 on Gram matrices and
 * Fisher diagonals it computes itself, convolution patches cut by explicit loops; no Model Soup code) and scored by
 * plain torch (torch_written_score.py) apart from the job that wrote it; `apply` of its recipe gives the same bytes.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadDataset, splitDataset } from "../../src/core/data/index.js";
import { DEFAULT_SPLIT, withoutTest } from "../../src/core/data/split.js";
import type { PythonWithTorch } from "../../src/core/python/find-python.js";
import type { EvaluateReport, MetricPair, SoupReport } from "../../src/protocol/worker.js";
import { FACTORY, MLP_STATE_DICTS, requireTorch } from "../worker/torch/support.js";
import { runCli } from "./run-cli.js";
import { oneLine, plainTorchScore, writeData } from "./torch-cli-support.js";

const REFERENCE = join(import.meta.dirname, "torch_data_merge_reference.py");

interface Reference {
  layers: string[];
  maxValue: number;
  fromAverage: number;
  maxDiff: number;
  loss: number;
  accuracy: number;
}

/** A Conv1d ("same" padding) into a Conv2d (strided, padded) into a Linear: both patch geometries and a plain map. */
const CONV_FACTORY = `import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv1d(2, 4, 3, padding="same")
        self.c2 = torch.nn.Conv2d(1, 2, (2, 3), stride=(1, 2), padding=(1, 0))
        self.fc = torch.nn.Linear(30, 3)

    def forward(self, x):
        h = torch.tanh(self.c1(x))
        h = torch.tanh(self.c2(h.unsqueeze(1)))
        return self.fc(h.flatten(1))


def build():
    return Net()
`;

/** Three perturbations of one seeded Net, 64 rows [2, 8] labelled by a fixed rule, and 24 held-out rows. */
const CONV_DATA = `import sys, numpy as np, torch
sys.path.insert(0, sys.argv[1])
from conv_net import build
torch.manual_seed(0)
base = build().state_dict()
for i in range(3):
    g = torch.Generator().manual_seed(i + 1)
    torch.save({k: v + 0.2 * torch.randn(v.shape, generator=g) for k, v in base.items()}, f"{sys.argv[1]}/conv{i}.pt")
w = torch.randn(16, 3)
for name, rows in (("conv_data.npz", 64), ("conv_held.npz", 24)):
    x = torch.randn(rows, 2, 8)
    np.savez(f"{sys.argv[1]}/{name}", x=x.numpy(), y=(x.reshape(rows, -1) @ w).argmax(1).numpy())
`;

describe("model-soup data-aware merges and evaluate --methods on PyTorch models", function () {
  this.timeout(600_000);
  let python: PythonWithTorch;
  let dir: string;
  let data: string;
  let held: string;
  let learn: number[];
  let conv: { models: string[]; factory: string; data: string; held: string; learn: number[] };
  const mlpRefs: Record<string, Reference> = {};

  /** The learn split's rows as every job splits the data (seed 0; with the user's own test rows: learn and validation only). */
  async function learnRows(path: string, label: string | null = "y", ownTest = true): Promise<number[]> {
    const dataset = await loadDataset(path, { label });
    const fractions = ownTest ? withoutTest(DEFAULT_SPLIT.fractions) : DEFAULT_SPLIT.fractions;
    return Array.from(splitDataset(dataset, { seed: 0, fractions }).indices.learn);
  }

  function reference(request: Record<string, unknown>): Reference {
    const out = execFileSync(python.path, [REFERENCE, JSON.stringify(request)], { encoding: "utf8", timeout: 300_000 });
    return JSON.parse(out.trim().split("\n").at(-1)!) as Reference;
  }

  /** The report's row is the reference merge's score: the loss to float32 rounding, the accuracy exactly. */
  function sameFigures(row: MetricPair, plain: { loss: number; accuracy: number }, what: string): void {
    assert.ok(Math.abs(row.loss - plain.loss) <= 1e-5 * plain.loss, `${what}: loss ${row.loss} vs ${plain.loss}`);
    assert.ok(Math.abs(row.metric - plain.accuracy) < 1e-6, `${what}: accuracy ${row.metric} vs ${plain.accuracy}`);
  }

  /** The written file is the reference merge to float32 rounding, and that merge is not the plain average. */
  function matchesReference(ref: Reference, what: string): void {
    assert.ok(ref.maxDiff <= 1e-5 * Math.max(1, ref.maxValue), `${what}: written differs by ${ref.maxDiff}`);
    assert.ok(ref.fromAverage > 1e-3, `${what}: the reference merge is the plain average (${ref.fromAverage})`);
  }

  before(async function () {
    python = await requireTorch(this);
    dir = await mkdtemp(join(tmpdir(), "model-soup-torch-data-merges-"));
    writeData(python.path, dir);
    data = join(dir, "data.npz");
    held = join(dir, "held.npz");
    learn = await learnRows(data);
    await writeFile(join(dir, "conv_net.py"), CONV_FACTORY);
    execFileSync(python.path, ["-c", CONV_DATA, dir]);
    conv = {
      models: [0, 1, 2].map((i) => join(dir, `conv${i}.pt`)),
      factory: `${join(dir, "conv_net.py")}:build`,
      data: join(dir, "conv_data.npz"),
      held: join(dir, "conv_held.npz"),
      learn: await learnRows(join(dir, "conv_data.npz")),
    };
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function mergeMlp(method: string, out: string): Promise<SoupReport> {
    const reportFile = `${out}.report.json`;
    const run = await runCli(
      ...["merge", ...MLP_STATE_DICTS, "--architecture", FACTORY, "--method", method],
      ...["--data", data, "--label", "y", "--test", held, "--out", out, "--report", reportFile],
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /backend PyTorch \d+\.\d+/);
    return JSON.parse(await readFile(reportFile, "utf8")) as SoupReport;
  }

  it("RegMean --out soup.safetensors: the file is NumPy's closed form on its own Gram matrices, plain torch scores it as the report, apply reproduces it", async () => {
    const out = join(dir, "regmean.safetensors");
    const report = await mergeMlp("regmean", out);
    assert.equal(report.method, "RegMean");
    assert.match(report.backend, /^PyTorch /);
    const ref = reference({
      factory: FACTORY,
      models: MLP_STATE_DICTS,
      data,
      learn,
      method: "regmean",
      written: out,
      test: held,
    });
    mlpRefs.regmean = ref;
    assert.deepEqual(ref.layers, ["0.weight", "4.weight"]);
    matchesReference(ref, "RegMean");
    sameFigures(report.metrics.merged, ref, "RegMean row vs the reference merge");
    const file = plainTorchScore(python.path, { model: out, factory: FACTORY, data: held });
    sameFigures(report.metrics.merged, file, "RegMean row vs the written file");

    const recipe = JSON.parse(await readFile(join(dir, "regmean.recipe.json"), "utf8")) as {
      origin: string;
      merge: { method: string };
      learning: { statistics: { split: string; rows: number }; architecture: string };
    };
    assert.equal(recipe.origin, "regmean");
    assert.equal(recipe.merge.method, "regmean");
    assert.deepEqual(recipe.learning.statistics, { split: "learn", rows: learn.length });
    // apply re-computes the Gram matrices on the recorded data through the engine: the same bytes.
    const again = join(dir, "regmean-again.safetensors");
    const applied = await runCli("apply", join(dir, "regmean.recipe.json"), "--out", again);
    assert.equal(applied.code, 0, applied.stderr);
    assert.deepEqual(await readFile(again), await readFile(out));
  });

  it("Fisher --out soup.pt: the file is the Fisher-weighted average of NumPy's own per-example squared gradients", async () => {
    const out = join(dir, "fisher.pt");
    const report = await mergeMlp("fisher", out);
    assert.equal(report.method, "Fisher merging");
    const ref = reference({
      factory: FACTORY,
      models: MLP_STATE_DICTS,
      data,
      learn,
      method: "fisher",
      written: out,
      test: held,
    });
    mlpRefs.fisher = ref;
    // Every parameter (BatchNorm's affine ones too) has a Fisher; the running statistics are plainly averaged.
    assert.deepEqual(ref.layers, ["0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias"]);
    matchesReference(ref, "Fisher");
    sameFigures(report.metrics.merged, ref, "Fisher row vs the reference merge");
    const file = plainTorchScore(python.path, { model: out, factory: FACTORY, data: held });
    assert.equal(file.kind, "state_dict");
    sameFigures(report.metrics.merged, file, "Fisher row vs the written file");
  });

  it("Fisher without labels differentiates each model's own prediction and is judged by the mean entropy", async () => {
    const unlabelled = join(dir, "unlabelled.npz");
    execFileSync(python.path, [
      "-c",
      "import sys, numpy as np; np.savez(sys.argv[2], x=np.load(sys.argv[1])['x'])",
      data,
      unlabelled,
    ]);
    const out = join(dir, "fisher-own.safetensors");
    const run = await runCli(
      ...["merge", ...MLP_STATE_DICTS, "--architecture", FACTORY, "--method", "fisher"],
      ...["--data", unlabelled, "--out", out, "--json"],
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as SoupReport;
    assert.equal(report.metricName, "entropy");
    const ref = reference({
      factory: FACTORY,
      models: MLP_STATE_DICTS,
      data,
      learn: await learnRows(unlabelled, null, false),
      method: "fisher",
      target: "prediction",
      written: out,
    });
    matchesReference(ref, "Fisher by the models' own predictions");
    const recipe = JSON.parse(await readFile(join(dir, "fisher-own.recipe.json"), "utf8")) as {
      learning: { statistics: { target: string; examples: number } };
    };
    assert.equal(recipe.learning.statistics.target, "prediction");
    assert.equal(recipe.learning.statistics.examples, 512);
  });

  it("RegMean and RegMean++ of convolutions (Conv1d same padding, strided padded Conv2d) over their patches, as NumPy cuts them", async () => {
    for (const method of ["regmean", "regmean_plusplus"]) {
      const out = join(dir, `conv-${method}.safetensors`);
      const run = await runCli(
        ...["merge", ...conv.models, "--architecture", conv.factory, "--method", method],
        ...["--data", conv.data, "--label", "y", "--test", conv.held, "--out", out, "--json"],
      );
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(run.stdout) as SoupReport;
      assert.deepEqual(report.warnings, []);
      const ref = reference({
        factory: conv.factory,
        models: conv.models,
        data: conv.data,
        learn: conv.learn,
        method,
        written: out,
        test: conv.held,
      });
      assert.deepEqual(ref.layers, ["c1.weight", "c2.weight", "fc.weight"], method);
      assert.ok(ref.maxDiff <= 1e-5 * Math.max(1, ref.maxValue), `${method}: written differs by ${ref.maxDiff}`);
      sameFigures(report.metrics.merged, ref, `${method} row vs the reference merge`);
      if (method === "regmean") assert.ok(ref.fromAverage > 1e-3, `RegMean is not the average (${ref.fromAverage})`);
      // One data set for every ingredient: each layer's Gram matrix is the same for all, so RegMean++ is the average.
      else assert.ok(ref.fromAverage < 1e-9, `RegMean++ is the plain average (${ref.fromAverage})`);
    }
  });

  it("evaluate --methods: the RegMean and Fisher rows are the reference merges' scores, beside greedy, learned, RegMean++", async () => {
    assert.ok(mlpRefs.regmean && mlpRefs.fisher, "the merges above ran");
    const run = await runCli(
      ...["evaluate", ...MLP_STATE_DICTS, "--architecture", FACTORY, "--data", data, "--label", "y"],
      ...["--test", held, "--methods", "greedy,learned,regmean,fisher,regmean_plusplus", "--json"],
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as EvaluateReport;
    assert.match(report.backend, /^PyTorch /);
    const rows = new Map(report.metrics.methods!.map((m) => [m.method, m]));
    assert.deepEqual([...rows.keys()], ["greedy soup", "learned soup", "RegMean", "Fisher merging", "RegMean++"]);
    sameFigures(rows.get("RegMean")!, mlpRefs.regmean, "RegMean row");
    sameFigures(rows.get("Fisher merging")!, mlpRefs.fisher, "Fisher row");
    for (const row of rows.values()) assert.ok(Number.isFinite(row.loss) && row.loss > 0, `${row.method}: ${row.loss}`);
    assert.equal(report.metrics.ingredients.length, 3);
    assert.equal(report.mergeability.length, 3);
  });

  it("Fisher runs TorchScript files as they are: the same models as TorchScript give the state dicts' Fisher row", async () => {
    assert.ok(mlpRefs.fisher, "the Fisher merge above ran");
    const scripted = MLP_STATE_DICTS.map((p) => p.replace(/\.pt$/, ".ts.pt"));
    const run = await runCli(
      ...["evaluate", ...scripted, "--data", data, "--label", "y", "--test", held, "--methods", "fisher", "--json"],
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as EvaluateReport;
    sameFigures(report.metrics.methods![0]!, mlpRefs.fisher, "Fisher row of the TorchScript files");
  });

  it("evaluate --methods tsv_m --base: the row is plain torch's score of the same merge written by `merge`", async () => {
    const [base, ...fineTunes] = MLP_STATE_DICTS as [string, ...string[]];
    const out = join(dir, "tsv.safetensors");
    const merged = await runCli("merge", ...fineTunes, "--base", base, "--method", "tsv_m", "--out", out);
    assert.equal(merged.code, 0, merged.stderr);
    const run = await runCli(
      ...["evaluate", ...fineTunes, "--base", base, "--architecture", FACTORY, "--data", data, "--label", "y"],
      ...["--test", held, "--methods", "tsv_m", "--json"],
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as EvaluateReport;
    const row = report.metrics.methods!.find((m) => m.method === "TSV-M")!;
    sameFigures(row, plainTorchScore(python.path, { model: out, factory: FACTORY, data: held }), "TSV-M row");
    // The ingredients are the fine-tunes alone, and the uniform soup is theirs (the base is read apart).
    assert.deepEqual(
      report.metrics.ingredients.map((r) => r.model),
      fineTunes,
    );
  });

  it("data whose rows do not fit the model ends in one line naming the data file; nothing is written", async () => {
    const wide = join(dir, "wide.npz");
    execFileSync(python.path, [
      "-c",
      "import sys, numpy as np; np.savez(sys.argv[1], x=np.zeros((40, 7), np.float32), y=np.zeros(40, np.int64))",
      wide,
    ]);
    const out = join(dir, "never.safetensors");
    const run = await runCli(
      ...["merge", ...MLP_STATE_DICTS, "--architecture", FACTORY, "--method", "fisher"],
      ...["--data", wide, "--label", "y", "--out", out],
    );
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      oneLine(run.stderr),
      /^model-soup merge: \S*wide\.npz: its rows \(each \[7\]\) do not run through the model: .*shapes cannot be multiplied/,
    );
    assert.equal(existsSync(out), false);
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.startsWith("never")),
      [],
    );
  });
});
