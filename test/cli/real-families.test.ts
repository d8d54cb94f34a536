/**
 * Every command on the real-world-shaped families of test/fixtures/real-families (k-fold BatchNorm/Dropout
 * classifiers trained from scratch with a custom focal loss, softmax and sigmoid, Keras 2 and Keras 3; weights-only
 * epoch checkpoints), with no tuning flags: the user's table, their held-out rows (`--test`), and for the
 * checkpoints the full model beside them (`--architecture`). Each written file is scored by the independent
 * float64 scorer, and the report's figures must be that file's.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { openModel } from "../../src/core/formats/registry.js";
import { scoreOnFile, type ScoreOptions } from "../support/independent-forward.js";
import { runCli, type CliRun } from "./run-cli.js";

const ROOT = "test/fixtures/real-families";
const TABLE = `${ROOT}/table.csv`;
const TEST = `${ROOT}/test.csv`;
const TOLERANCE = 1e-4;
/** Two commands' rows for one soup of the same models on the same rows: the same number up to float32 rounding. */
const SAME = 1e-6;

interface Family {
  name: string;
  models: string[];
  ext: string;
  /** For weights-only checkpoints: the full model file beside them. */
  architecture?: string;
}

const folds = (variant: string, keras: string, ext: string) =>
  [1, 2, 3, 4].map((k) => `${ROOT}/${variant}/${keras}/model_fold_${k}${ext}`);
const FAMILIES: Family[] = [
  { name: "softmax k-fold, Keras 3", models: folds("softmax", "keras3", ".keras"), ext: ".keras" },
  { name: "softmax k-fold, Keras 2", models: folds("softmax", "keras2", ".h5"), ext: ".h5" },
  { name: "sigmoid k-fold, Keras 3", models: folds("sigmoid", "keras3", ".keras"), ext: ".keras" },
  { name: "sigmoid k-fold, Keras 2", models: folds("sigmoid", "keras2", ".h5"), ext: ".h5" },
  {
    name: "weights-only epoch checkpoints",
    models: [7, 8, 9, 10].map((e) => `${ROOT}/checkpoints/weights.${String(e).padStart(2, "0")}.h5`),
    ext: ".h5",
    architecture: `${ROOT}/checkpoints/model.h5`,
  },
];

interface Pair {
  loss: number;
  metric: number;
}
interface Report {
  metrics: { ingredients: Array<{ model: string } & Pair>; uniform: Pair; merged?: Pair; ensemble: Pair };
  split: { learn: number; validation: number; test: number };
  coefficients?: unknown;
  learning?: { kept: string };
  output?: { model: string };
  warnings: string[];
}

function close(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected}`);
}

async function tensorBytes(path: string): Promise<Map<string, Buffer>> {
  const model = await openModel(path);
  try {
    const out = new Map<string, Buffer>();
    for (const t of model.manifest.tensors) {
      const data = (await model.readTensor(t.name)).data;
      out.set(t.name, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    }
    return out;
  } finally {
    await model.close();
  }
}

/** The model a one-model result is, if it is one: a learned run that kept an ingredient, or one-hot coefficients. */
function keptSingle(report: Report, models: string[]): string | undefined {
  const kept = report.learning?.kept;
  if (kept !== undefined && kept !== "learned") {
    const match = models.find((m) => kept.includes(basename(m)));
    if (match) return match;
  }
  const c = report.coefficients;
  if (Array.isArray(c) && c.length === models.length && typeof c[0] === "number") {
    const nonzero = (c as number[]).flatMap((w, i) => (w !== 0 ? [i] : []));
    if (nonzero.length === 1) return models[nonzero[0]!];
  }
  return undefined;
}

/**
 * A headline that calls a soup better than the models (or best) must not do it on accuracy alone: that soup's
 * test loss may not be worse than the best single model's.
 */
function checkHeadline(stdout: string, report: Report, learned?: Pair, greedy?: Pair): void {
  const bestLoss = Math.min(...report.metrics.ingredients.map((m) => m.loss));
  const rows: Record<string, Pair | undefined> = {
    "uniform soup": report.metrics.uniform,
    "learned soup": learned,
    "greedy soup": greedy,
  };
  for (const line of stdout.split("\n")) {
    if (/\bno merge\b|\bnot\b|\bbelow\b|\bkeep it\b/i.test(line)) continue;
    if (!/\b(best|better|beats?|above|over the best)\b/i.test(line)) continue;
    const named = /^\W*(?:the )?(uniform soup|learned soup|greedy soup)\b/i.exec(line)?.[1]?.toLowerCase();
    if (!named || !rows[named]) continue;
    assert.ok(
      rows[named]!.loss <= bestLoss + TOLERANCE,
      `"${line.trim()}": its test loss ${rows[named]!.loss} is worse than the best model's ${bestLoss}`,
    );
  }
}

function ok(run: CliRun, what: string): void {
  assert.equal(run.code, 0, `${what} failed: ${run.stderr.trim().split("\n").pop()}`);
}

describe("every command on real-world-shaped families (k-fold BatchNorm models, custom loss, checkpoints)", function () {
  this.timeout(20 * 60 * 1000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-real-families-"));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  for (const family of FAMILIES) {
    describe(family.name, function () {
      const arch = family.architecture ? ["--architecture", family.architecture] : [];
      const scoreOptions: ScoreOptions = family.architecture ? { architecture: family.architecture } : {};
      const data = ["--data", TABLE, "--test", TEST];
      const reports: Record<string, Report> = {};
      const slug = family.name.replace(/\W+/g, "-");

      it("evaluate: each model's figures are its own file's on the held-out rows", async () => {
        const reportFile = join(dir, `${slug}-evaluate.json`);
        const run = await runCli("evaluate", ...family.models, ...data, ...arch, "--report", reportFile);
        ok(run, "evaluate");
        const report: Report = JSON.parse(await readFile(reportFile, "utf8"));
        reports.evaluate = report;
        assert.equal(report.split.test, 300, "the test rows are test.csv's");
        for (const [i, model] of family.models.entries()) {
          const mine = await scoreOnFile(model, TEST, scoreOptions);
          close(report.metrics.ingredients[i]!.loss, mine.loss, TOLERANCE, `${model} loss`);
          close(report.metrics.ingredients[i]!.metric, mine.accuracy, TOLERANCE, `${model} accuracy`);
        }
        if (!family.architecture) {
          const mentions = [...report.warnings, ...run.stdout.split("\n"), ...run.stderr.split("\n")].filter((l) =>
            l.includes("focal_loss_fixed"),
          );
          assert.ok(mentions.length >= 1, "one line says the custom loss was replaced");
          assert.ok(report.warnings.filter((l) => l.includes("focal_loss_fixed")).length <= 1, "only one line");
        }
        checkHeadline(run.stdout, report);
      });

      it("learn: the written file scores what the report says; a kept single model is its file", async () => {
        const out = join(dir, `${slug}-learned${family.ext}`);
        const reportFile = join(dir, `${slug}-learn.json`);
        const run = await runCli("learn", ...family.models, ...data, ...arch, "--out", out, "--report", reportFile);
        ok(run, "learn");
        const report: Report = JSON.parse(await readFile(reportFile, "utf8"));
        reports.learn = report;
        assert.equal(report.split.test, 300);
        const mine = await scoreOnFile(out, TEST, scoreOptions);
        close(report.metrics.merged!.loss, mine.loss, TOLERANCE, "learned soup loss (report vs written file)");
        close(
          report.metrics.merged!.metric,
          mine.accuracy,
          TOLERANCE,
          "learned soup accuracy (report vs written file)",
        );
        const single = keptSingle(report, family.models);
        if (single) assert.deepEqual(await tensorBytes(out), await tensorBytes(single), `the kept ${single} as it is`);
        checkHeadline(run.stdout, report, report.metrics.merged);
      });

      it("greedy: the written file scores what the report says", async () => {
        const out = join(dir, `${slug}-greedy${family.ext}`);
        const reportFile = join(dir, `${slug}-greedy.json`);
        const run = await runCli("greedy", ...family.models, ...data, ...arch, "--out", out, "--report", reportFile);
        ok(run, "greedy");
        const report: Report = JSON.parse(await readFile(reportFile, "utf8"));
        reports.greedy = report;
        const mine = await scoreOnFile(out, TEST, scoreOptions);
        close(report.metrics.merged!.loss, mine.loss, TOLERANCE, "greedy soup loss (report vs written file)");
        close(report.metrics.merged!.metric, mine.accuracy, TOLERANCE, "greedy soup accuracy (report vs written file)");
        const single = keptSingle(report, family.models);
        if (single) assert.deepEqual(await tensorBytes(out), await tensorBytes(single), `the kept ${single} as it is`);
        checkHeadline(run.stdout, report, undefined, report.metrics.merged);
      });

      it("the uniform soup row is the same number in learn, greedy and evaluate", function () {
        if (!reports.learn || !reports.greedy || !reports.evaluate) this.skip();
        const [learn, greedy, evaluate] = [reports.learn!, reports.greedy!, reports.evaluate!].map(
          (r) => r.metrics.uniform,
        );
        for (const [name, row] of Object.entries({ learn, greedy })) {
          close(row!.loss, evaluate!.loss, SAME, `uniform loss in ${name} vs evaluate`);
          close(row!.metric, evaluate!.metric, SAME, `uniform accuracy in ${name} vs evaluate`);
        }
      });

      it("merge (uniform): writes the weight average, which the scorer runs", async () => {
        const out = join(dir, `${slug}-uniform${family.ext}`);
        // A fixed-coefficient merge runs nothing: weights-only checkpoints need no architecture for it.
        const run = await runCli("merge", ...family.models, "--out", out);
        ok(run, "merge");
        const written = await tensorBytes(out);
        const inputs = await Promise.all(family.models.map(tensorBytes));
        for (const [name, bytes] of written) {
          const got = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
          const each = inputs.map((m) => {
            const b = m.get(name)!;
            return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
          });
          // Moving statistics may be re-estimated only with data; merge was given none, so every tensor is the mean.
          got.forEach((v, j) => {
            const mean = each.reduce((s, t) => s + t[j]!, 0) / each.length;
            assert.ok(Math.abs(v - mean) <= 1e-6 * Math.max(1, Math.abs(mean)), `${name}[${j}]: ${v} vs mean ${mean}`);
          });
        }
        const score = await scoreOnFile(out, TEST, scoreOptions);
        assert.ok(Number.isFinite(score.loss) && score.rows === 300);
      });
    });
  }
});
