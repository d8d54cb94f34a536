// The learner's defaults as a user meets them: `model-soup learn <models> --data <csv> --label <col>` and nothing
// else, on a family of fine-tunes with harmful members (test/fixtures/learn-family, made by
// scripts/make-learn-family.ts); the report's start / kept / budget; the small-data split policy.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { loadDataset } from "../../src/core/data/load.js";
import { splitDataset } from "../../src/core/data/split.js";
import { LEARN_DEFAULTS } from "../../src/protocol/learn-defaults.js";
import { runCli } from "./run-cli.js";

const FAMILY = "test/fixtures/learn-family";
const NAMES = ["good-1", "good-2", "good-3", "good-4", "high-lr", "classes-5-9"];
const MODELS = NAMES.map((n) => join(FAMILY, n, "model.json"));
const DATA = "samples/digits/soup.csv.gz";

/** The accuracy column of each table row, by its first cell. */
function accuracies(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(.+?)\s{2,}\d+\.\d{4}\s+(\d+\.\d\d)%/.exec(line);
    if (m) out.set(m[1]!.trim(), Number(m[2]) / 100);
  }
  return out;
}

describe("model-soup learn with no tuning flags, on fine-tunes with harmful members", function () {
  this.timeout(600_000); // several whole learning runs each; slow when the machine is shared
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), "soup-learn-defaults-"))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it("beats the uniform soup and is at least as good on test as the single model validation picks; the report states start, kept, steps and budget", async () => {
    const run = await runCli("learn", ...MODELS, "--data", DATA, "--label", "64");
    assert.equal(run.code, 0, run.stderr);
    const acc = accuracies(run.stdout);
    const learned = acc.get("learned soup")!;
    const uniform = acc.get("uniform soup")!;
    assert.ok(learned > uniform, `learned ${learned} vs uniform ${uniform}\n${run.stdout}`);
    // The single model a user would keep without looking at test rows: the best on validation (training.json).
    const training = JSON.parse(await readFile(join(FAMILY, "training.json"), "utf8"));
    const byValidation = [...training.ingredients].sort((a, b) => b.validationAccuracy - a.validationAccuracy)[0];
    const single = acc.get(join(FAMILY, byValidation.name, "model.json"))!;
    assert.ok(
      single !== undefined && learned >= single,
      `learned ${learned} vs ${byValidation.name} ${single}\n${run.stdout}`,
    );
    assert.match(
      run.stdout,
      /^Start: .+ \(the lowest validation loss of 8 candidates: uniform soup, each model, greedy soup\)$/m,
    );
    const steps = /^Learning: (\d+) Adam steps of a budget of (\d+), learning rate ([\d.]+) with cosine decay/m.exec(
      run.stdout,
    );
    assert.ok(steps, run.stdout);
    assert.equal(Number(steps[2]), LEARN_DEFAULTS.maxSteps);
    assert.equal(Number(steps[3]), LEARN_DEFAULTS.learningRate);
    assert.ok(
      Number(steps[1]) >= 100 && Number(steps[1]) <= LEARN_DEFAULTS.maxSteps,
      "hundreds of steps on 539 learning rows, within the budget",
    );
    assert.match(run.stdout, /^Kept: the learned soup/m);
  });

  it("starts from the best candidate on validation and never ends worse on validation than any candidate", async () => {
    const models = [MODELS[1]!, MODELS[5]!]; // good-2 alone is far better on validation than the uniform soup with classes-5-9
    const run = await runCli("learn", ...models, "--data", DATA, "--label", "64", "--json");
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    const l = report.learning;
    assert.deepEqual(
      l.candidates.map((c: { name: string }) => c.name),
      ["uniform soup", "good-2/model.json", "classes-5-9/model.json", "greedy soup"],
    );
    const best = [...l.candidates].sort((a: { loss: number }, b: { loss: number }) => a.loss - b.loss)[0];
    assert.ok(["good-2/model.json", "greedy soup"].includes(best.name), best.name);
    assert.equal(l.start, best.name);
    for (const c of l.candidates)
      assert.ok(l.validation.loss <= c.loss, `${c.name}: ${c.loss} < kept ${l.validation.loss}`);
  });

  it("small-data policy: the test rows are not read before the final report (changing them changes nothing learned)", async () => {
    const lines = gunzipSync(await readFile(DATA))
      .toString("utf8")
      .trim()
      .split("\n");
    const dataset = await loadDataset(DATA);
    const split = splitDataset(dataset, { seed: 0 });
    const blanked = [...lines];
    // Features of every test row set to 0; labels kept, so the stratified split is the same.
    for (const r of split.indices.test) blanked[r] = `${new Array(64).fill(0).join(",")},${lines[r]!.split(",")[64]}`;
    const changed = join(dir, "test-rows-blanked.csv");
    await writeFile(changed, blanked.join("\n") + "\n");
    const plain = join(dir, "plain.csv");
    await writeFile(plain, lines.join("\n") + "\n");

    const a = JSON.parse((await runCli("learn", ...MODELS, "--data", plain, "--label", "64", "--json")).stdout);
    const b = JSON.parse((await runCli("learn", ...MODELS, "--data", changed, "--label", "64", "--json")).stdout);
    assert.deepEqual(b.split, a.split);
    assert.deepEqual(b.coefficients, a.coefficients, "the learned coefficients do not depend on the test rows");
    const { seconds: _a, ...learningA } = { ...a.learning, seconds: 0 };
    const { seconds: _b, ...learningB } = { ...b.learning, seconds: 0 };
    assert.deepEqual(learningB, learningA);
    assert.deepEqual(
      b.history.map((h: { validationLoss?: number }) => h.validationLoss),
      a.history.map((h: { validationLoss?: number }) => h.validationLoss),
    );
    assert.notEqual(
      b.metrics.uniform.loss,
      a.metrics.uniform.loss,
      "the test rows did change: the final report reads them",
    );
    // The kept learned soup was learned again on learn + validation, for the steps validation chose.
    assert.deepEqual(a.learning.refit, { rows: a.split.learn + a.split.validation, steps: a.learning.bestStep });
    const noRefit = JSON.parse(
      (await runCli("learn", ...MODELS, "--data", plain, "--label", "64", "--json", "--no-refit")).stdout,
    );
    assert.equal(noRefit.learning.refit, undefined);
    assert.notDeepEqual(noRefit.coefficients, a.coefficients);
  });

  it("learn --help states the defaults the code uses", async () => {
    const run = await runCli("learn", "--help");
    assert.equal(run.code, 0);
    assert.match(run.stdout, new RegExp(`at most ${LEARN_DEFAULTS.maxSteps} steps`));
    assert.match(
      run.stdout,
      new RegExp(`Adam learning rate \\(default ${LEARN_DEFAULTS.learningRate}, decayed to 0 by a cosine`),
    );
    assert.match(run.stdout, /--optimizer adam\|lbfgs\s+Optimiser .*adam: Adam \(mini-batches\) \[default\]/);
    assert.doesNotMatch(run.stdout, /L-BFGS; Adam for nonneg|epochs/);
    for (const option of ["--patience", "--no-refit", "--steps", "--batch", "--lr", "--scale", "--seed"])
      assert.ok(run.stdout.split("\n")[0]!.includes(option), `usage line names ${option}`);
  });
});
