/**
 * `--align` on PyTorch models through the real CLI and the user's own torch: models trained from scratch with
 * different seeds (make_align_models.py) merge far better aligned than not; a copy of a model with its units
 * shuffled (by plain torch, permute.py below) is aligned back onto the original exactly, by weight and by activation
 * matching; the written soup scores, in plain torch, what the report says; and the refusals are one line.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PythonWithTorch } from "../../src/core/python/find-python.js";
import type { EvaluateReport, SoupReport } from "../../src/protocol/worker.js";
import { ALIGN_FACTORY, fixture, makeAlignModels, requireTorch } from "../worker/torch/support.js";
import { runCli } from "./run-cli.js";
import { oneLine, plainTorchScore } from "./torch-cli-support.js";

/** Shuffles the hidden units of a model file with plain torch (no Model Soup code), as a differently seeded run would. */
const PERMUTE = `
import sys, torch
kind, source, target = sys.argv[1:4]
s = torch.load(source, weights_only=True)
g = torch.Generator().manual_seed(3)
if kind == "mlp":
    for a, b in (("0", "2"), ("2", "4")):
        p = torch.randperm(s[a + ".weight"].shape[0], generator=g)
        s[a + ".weight"], s[a + ".bias"] = s[a + ".weight"][p], s[a + ".bias"][p]
        s[b + ".weight"] = s[b + ".weight"][:, p]
else:
    for conv, bn, nxt in (("conv1", "bn1", "conv2"), ("conv2", "bn2", "fc")):
        p = torch.randperm(s[conv + ".weight"].shape[0], generator=g)
        for name in (conv + ".weight", conv + ".bias", bn + ".weight", bn + ".bias", bn + ".running_mean", bn + ".running_var"):
            s[name] = s[name][p]
        w = s[nxt + ".weight"]
        s[nxt + ".weight"] = w[:, p] if nxt != "fc" else w.reshape(w.shape[0], 16, 4)[:, p].reshape(w.shape[0], 64)
torch.save(s, target)
`;

describe("model-soup --align on PyTorch models", function () {
  this.timeout(600_000);
  let python: PythonWithTorch;
  let dir: string;
  const mlp = () => [0, 1, 2].map((i) => join(dir, `mlp_s${i}.pt`));
  const cnn = () => [0, 1, 2].map((i) => join(dir, `cnn_s${i}.pt`));

  before(async function () {
    python = await requireTorch(this);
    dir = await mkdtemp(join(tmpdir(), "model-soup-torch-align-cli-"));
    makeAlignModels(python, dir);
    execFileSync(python.path, ["-c", PERMUTE, "mlp", join(dir, "mlp_s0.pt"), join(dir, "mlp_perm.pt")]);
    execFileSync(python.path, ["-c", PERMUTE, "cnn", join(dir, "cnn_s0.pt"), join(dir, "cnn_perm.pt")]);
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("learn --align weight: the aligned soups of from-scratch MLPs beat the unaligned ones; plain torch scores the written file as reported", async () => {
    const out = join(dir, "aligned.safetensors");
    const reportFile = join(dir, "aligned.json");
    const run = await runCli(
      ...["learn", ...mlp(), "--architecture", `${ALIGN_FACTORY}:build_mlp`, "--data", join(dir, "mlp.npz")],
      ...[
        "--label",
        "y",
        "--test",
        join(dir, "mlp_held.npz"),
        "--align",
        "weight",
        "--out",
        out,
        "--report",
        reportFile,
      ],
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /aligned uniform soup/);
    assert.match(
      run.stdout,
      /Alignment \(weight matching\): reference \S+ \(lowest validation loss\); 2 permutation group\(s\), 96 units/,
    );
    const report = JSON.parse(await readFile(reportFile, "utf8")) as SoupReport;
    const { uniform, alignedUniform, merged } = report.metrics;
    assert.ok(alignedUniform!.metric > uniform.metric + 0.1, `aligned ${alignedUniform!.metric} vs ${uniform.metric}`);
    assert.ok(merged.metric > uniform.metric + 0.1);
    for (const pair of report.alignment!.pairs) {
      assert.ok(pair.cosineAfter > pair.cosineBefore + 0.3, JSON.stringify(pair));
      assert.ok(pair.barrierAfter! < pair.barrierBefore! / 2, JSON.stringify(pair));
    }
    const recipe = JSON.parse(await readFile(join(dir, "aligned.recipe.json"), "utf8")) as {
      alignment: { method: string; permutations: Array<Record<string, number[]>>; groups: Array<{ id: string }> };
    };
    assert.equal(recipe.alignment.method, "weight");
    assert.deepEqual(
      recipe.alignment.groups.map((g) => g.id),
      ["0", "2"],
    );
    assert.equal(recipe.alignment.permutations.length, 3);
    // The test rows are mlp_held.npz: plain torch scores the written file on them as the report does.
    const file = plainTorchScore(python.path, {
      model: out,
      factory: `${ALIGN_FACTORY}:build_mlp`,
      data: join(dir, "mlp_held.npz"),
    });
    assert.ok(Math.abs(file.loss - merged.loss) <= 1e-4 * file.loss, `${file.loss} vs ${merged.loss}`);
    assert.ok(Math.abs(file.accuracy - merged.metric) < 1e-6);
  });

  for (const [kind, method] of [
    ["mlp", "weight"],
    ["mlp", "activation"],
    ["cnn", "weight"],
    ["cnn", "activation"],
  ] as const) {
    it(`evaluate --align ${method}: a ${kind} with its units shuffled by plain torch is aligned back onto the original exactly`, async () => {
      const reportFile = join(dir, `back-${kind}-${method}.json`);
      const original = join(dir, `${kind}_s0.pt`);
      const run = await runCli(
        ...["evaluate", original, join(dir, `${kind}_perm.pt`), "--architecture", `${ALIGN_FACTORY}:build_${kind}`],
        ...["--data", join(dir, `${kind}.npz`), "--label", "y", "--align", method, "--reference", original],
        ...["--report", reportFile],
      );
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(await readFile(reportFile, "utf8")) as EvaluateReport;
      const own = report.metrics.ingredients[0]!;
      // The shuffled copy computes what the original does, and its uniform soup with the original does not.
      assert.ok(Math.abs(report.metrics.ingredients[1]!.loss - own.loss) < 1e-5);
      assert.ok(report.metrics.uniform.loss > own.loss + 0.05, `${report.metrics.uniform.loss} vs ${own.loss}`);
      // Aligned back exactly: the soup of the original and the aligned copy is the original, weight for weight.
      assert.ok(
        Math.abs(report.metrics.alignedUniform!.loss - own.loss) < 1e-6,
        `${report.metrics.alignedUniform!.loss} vs ${own.loss}`,
      );
      assert.equal(report.alignment!.reference, original);
      assert.equal(report.alignment!.referenceChosenBy, "user");
      assert.ok(report.alignment!.moved[0]!.units > (kind === "mlp" ? 80 : 18));
      assert.ok(Math.abs(report.alignment!.pairs[0]!.cosineAfter - 1) < 1e-6);
      // Its learned soup (the learner's defaults) mixes two copies of one model: the model itself.
      const learned = report.metrics.methods?.find((m) => m.method === "aligned learned soup");
      assert.ok(learned && Math.abs(learned.loss - own.loss) < 1e-5, JSON.stringify(report.metrics.methods));
    });
  }

  it("greedy --align activation on from-scratch CNNs with BatchNorm: the aligned uniform soup beats the unaligned one", async () => {
    const reportFile = join(dir, "cnn-greedy.json");
    const out = join(dir, "cnn-greedy.pt");
    const run = await runCli(
      ...["greedy", ...cnn(), "--architecture", `${ALIGN_FACTORY}:build_cnn`, "--data", join(dir, "cnn.npz")],
      ...["--label", "y", "--align", "activation", "--out", out, "--report", reportFile],
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(await readFile(reportFile, "utf8")) as SoupReport;
    assert.ok(
      report.metrics.alignedUniform!.metric > report.metrics.uniform.metric + 0.1,
      `${report.metrics.alignedUniform!.metric} vs ${report.metrics.uniform.metric}`,
    );
    assert.equal(report.alignment!.groups, 2);
    assert.ok(existsSync(out));
  });

  it("merge --align weight: REPAIRed on labelled data, the aligned merge beats the plain one in plain torch; apply rewrites it byte for byte", async () => {
    const aligned = join(dir, "merged-aligned.safetensors");
    const plain = join(dir, "merged-plain.safetensors");
    const architecture = ["--architecture", `${ALIGN_FACTORY}:build_mlp`];
    const run = await runCli(
      ...["merge", ...mlp(), ...architecture, "--data", join(dir, "mlp.npz"), "--label", "y"],
      ...["--align", "weight", "--out", aligned],
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /REPAIR of 2 layer\(s\): validation loss [\d.]+ → [\d.]+ \(kept/);
    const noAlign = await runCli("merge", ...mlp(), "--out", plain);
    assert.equal(noAlign.code, 0, noAlign.stderr);
    const score = (model: string) =>
      plainTorchScore(python.path, { model, factory: `${ALIGN_FACTORY}:build_mlp`, data: join(dir, "mlp_held.npz") });
    const a = score(aligned);
    const p = score(plain);
    assert.ok(a.accuracy > p.accuracy + 0.05, `aligned ${a.accuracy} vs plain ${p.accuracy}`);
    const recipe = JSON.parse(await readFile(join(dir, "merged-aligned.recipe.json"), "utf8")) as {
      overrides?: Record<string, number[]>;
      alignment: { groups: unknown[] };
      metrics: { split: string; merged: { loss: number } };
    };
    // The figures REPAIR judged the merge by, re-measured on the written file by a fresh engine.
    assert.equal(recipe.metrics.split, "validation");
    assert.ok(recipe.metrics.merged.loss > 0);
    assert.deepEqual(Object.keys(recipe.overrides ?? {}).sort(), ["0.bias", "0.weight", "2.bias", "2.weight"]);
    assert.equal(recipe.alignment.groups.length, 2);
    const again = join(dir, "merged-again.safetensors");
    const apply = await runCli("apply", join(dir, "merged-aligned.recipe.json"), "--out", again);
    assert.equal(apply.code, 0, apply.stderr);
    assert.ok((await readFile(again)).equals(await readFile(aligned)), "the recipe rewrites the same bytes");

    const refused = await runCli(
      "merge",
      ...mlp(),
      ...architecture,
      "--align",
      "weight",
      "--out",
      join(dir, "no-data.safetensors"),
    );
    assert.notEqual(refused.code, 0);
    assert.match(oneLine(refused.stderr), /mlp_s0\.pt: --align on PyTorch models needs --data/);
    assert.ok(!existsSync(join(dir, "no-data.safetensors")));
  });

  it("align --method activation writes each CNN with its units permuted: plain torch scores each as its original", async () => {
    const folder = join(dir, "aligned-cnns");
    const run = await runCli(
      ...["align", ...cnn(), "--architecture", `${ALIGN_FACTORY}:build_cnn`, "--data", join(dir, "cnn.npz")],
      ...["--label", "y", "--method", "activation", "--reference", cnn()[0]!, "--out", folder],
    );
    assert.equal(run.code, 0, run.stderr);
    const factory = `${ALIGN_FACTORY}:build_cnn`;
    for (const [i, model] of cnn().entries()) {
      const written = join(folder, `cnn_s${i}.pt`);
      const own = plainTorchScore(python.path, { model, factory, data: join(dir, "cnn_held.npz") });
      const moved = plainTorchScore(python.path, { model: written, factory, data: join(dir, "cnn_held.npz") });
      assert.ok(Math.abs(own.loss - moved.loss) < 1e-5 * Math.max(1, own.loss), `${own.loss} vs ${moved.loss}`);
      assert.equal(moved.accuracy, own.accuracy);
    }
    assert.ok(!(await readFile(join(folder, "cnn_s1.pt"))).equals(await readFile(cnn()[1]!)), "its units moved");
  });

  it("refuses in one line, writing nothing: a TorchScript file, a graph torch.fx cannot trace, --align with --base", async () => {
    const ts = [0, 1].map((i) => fixture(`mlp_ft${i}.ts.pt`));
    const out = join(dir, "refused.safetensors");
    const script = await runCli(
      "learn",
      ...ts,
      "--data",
      join(dir, "mlp.npz"),
      "--label",
      "y",
      "--align",
      "weight",
      "--out",
      out,
    );
    assert.notEqual(script.code, 0);
    assert.match(
      oneLine(script.stderr),
      /mlp_ft0\.ts\.pt: --align needs the model's graph, which torch\.fx traces .*TorchScript/,
    );

    const traced = await runCli(
      ...["learn", join(dir, "data_dependent_s0.pt"), join(dir, "data_dependent_s1.pt")],
      ...["--architecture", `${ALIGN_FACTORY}:build_data_dependent`, "--data", join(dir, "mlp.npz"), "--label", "y"],
      ...["--align", "weight", "--out", out],
    );
    assert.notEqual(traced.code, 0);
    assert.match(
      oneLine(traced.stderr),
      /data_dependent_s0\.pt: --align needs the model's graph, and torch\.fx could not trace it: /,
    );

    const base = await runCli(
      ...["learn", ...mlp().slice(1), "--base", mlp()[0]!, "--architecture", `${ALIGN_FACTORY}:build_mlp`],
      ...["--data", join(dir, "mlp.npz"), "--label", "y", "--align", "weight", "--out", out],
    );
    assert.notEqual(base.code, 0);
    assert.match(oneLine(base.stderr), /--align does not apply with --base/);
    assert.ok(!existsSync(out), "nothing written");
  });
});
