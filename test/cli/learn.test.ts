import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { openModel, readManifest } from "../../src/core/formats/registry.js";
import { runCli } from "./run-cli.js";

const SAMPLE = "samples/digits";
const DATA = join(SAMPLE, "soup.csv.gz");

async function tensorsOf(path: string): Promise<Map<string, Buffer>> {
  const file = await openModel(path);
  try {
    const out = new Map<string, Buffer>();
    for (const t of file.manifest.tensors) {
      const data = (await file.readTensor(t.name)).data;
      out.set(t.name, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    }
    return out;
  } finally {
    await file.close();
  }
}

describe("model-soup learn / apply / merge / greedy / evaluate on the digits sample", function () {
  let dir: string;
  let models: string[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-cli-"));
    models = [];
    for (const i of [1, 2, 3]) {
      await cp(join(SAMPLE, "models", `ingredient-${i}`), join(dir, `ingredient-${i}`), { recursive: true });
      models.push(join(dir, `ingredient-${i}`, "model.json"));
    }
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("learns model-granular coefficients, reports every reference, writes a model that re-reads", async () => {
    const out = join(dir, "learned", "model.json");
    const reportPath = join(dir, "report.json");
    const run = await runCli(
      "learn",
      ...models,
      "--data",
      DATA,
      "--out",
      out,
      "--report",
      reportPath,
      "--json",
      "--backend",
      "cpu",
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.deepEqual(JSON.parse(await readFile(reportPath, "utf8")), report);
    assert.equal(report.backend, "cpu");
    assert.equal(report.metricName, "accuracy");
    assert.equal(report.coefficients.length, 3);
    assert.ok(
      Math.abs(report.coefficients.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-6,
      "simplex coefficients sum to 1",
    );
    assert.equal(report.metrics.ingredients.length, 3);
    for (const key of ["uniform", "merged", "ensemble"]) {
      assert.ok(
        report.metrics[key].loss > 0 && report.metrics[key].metric > 0.5,
        `${key}: ${JSON.stringify(report.metrics[key])}`,
      );
    }
    assert.equal(report.split.test + report.split.learn + report.split.validation > 0, true);
    assert.ok(Array.isArray(report.warnings));
    assert.ok(report.seconds > 0);
    assert.equal(report.mergeability.length, 3, "one entry per pair");
    const written = await readManifest(out);
    assert.equal(written.format, "tfjs-layers");
    const recipe = JSON.parse(await readFile(report.output.recipe, "utf8"));
    assert.equal(recipe.origin, "learned");
    assert.equal(recipe.merge.method, "linear");
    assert.deepEqual(
      recipe.merge.ingredients.map((g: { weight: number }) => g.weight),
      report.coefficients,
    );
  });

  it("apply recreates the same tensors from the recipe alone, and refuses changed inputs", async () => {
    const first = join(dir, "weighted", "model.json");
    const merged = await runCli("merge", ...models, "--weights", "0.5,0.3,0.2", "--out", first);
    assert.equal(merged.code, 0, merged.stderr);
    const again = join(dir, "again", "model.json");
    const applied = await runCli("apply", join(dir, "weighted", "model.recipe.json"), "--out", again);
    assert.equal(applied.code, 0, applied.stderr);
    const a = await tensorsOf(first);
    const b = await tensorsOf(again);
    assert.deepEqual([...a.keys()], [...b.keys()]);
    for (const [name, bytes] of a) assert.ok(bytes.equals(b.get(name)!), `tensor ${name} differs after apply`);

    // The weighted average itself, checked on one tensor against values computed here.
    const inputs = await Promise.all(models.map(tensorsOf));
    const name = [...a.keys()][0]!;
    const got = new Float32Array(
      a.get(name)!.buffer.slice(a.get(name)!.byteOffset, a.get(name)!.byteOffset + a.get(name)!.byteLength),
    );
    const values = inputs.map(
      (m) =>
        new Float32Array(
          m.get(name)!.buffer.slice(m.get(name)!.byteOffset, m.get(name)!.byteOffset + m.get(name)!.byteLength),
        ),
    );
    for (let j = 0; j < got.length; j += 97) {
      const expected = 0.5 * values[0]![j]! + 0.3 * values[1]![j]! + 0.2 * values[2]![j]!;
      assert.ok(Math.abs(got[j]! - expected) < 1e-6, `${name}[${j}]: ${got[j]} vs ${expected}`);
    }

    const weights = join(dir, "ingredient-2", "weights.bin");
    const bytes = await readFile(weights);
    bytes[100] ^= 0xff;
    await writeFile(weights, bytes);
    const refused = await runCli(
      "apply",
      join(dir, "weighted", "model.recipe.json"),
      "--out",
      join(dir, "refused", "model.json"),
    );
    bytes[100] ^= 0xff;
    await writeFile(weights, bytes);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /ingredient-2.*has changed since the recipe/);
  });

  it("learns layer-granular coefficients as an object from layer name to one value per model", async () => {
    const run = await runCli(
      "learn",
      ...models,
      "--data",
      DATA,
      "--granularity",
      "layer",
      "--json",
      "--backend",
      "cpu",
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.deepEqual(Object.keys(report.coefficients).sort(), ["hidden1", "hidden2", "output"]);
    for (const values of Object.values(report.coefficients) as number[][]) assert.equal(values.length, 3);
  });

  it("learns λ in the task-vector form against a base, and the recipe replays it", async () => {
    const out = join(dir, "task", "model.json");
    const run = await runCli(
      "learn",
      models[1]!,
      models[2]!,
      "--base",
      models[0]!,
      "--data",
      DATA,
      "--param",
      "free",
      "--out",
      out,
      "--json",
      "--backend",
      "cpu",
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(report.method, "learned task arithmetic");
    assert.equal(report.coefficients.length, 2);
    const recipe = JSON.parse(await readFile(report.output.recipe, "utf8"));
    assert.equal(recipe.merge.method, "task_arithmetic");
    assert.ok(recipe.base.path.endsWith("model.json"));
    const again = join(dir, "task-again", "model.json");
    assert.equal((await runCli("apply", report.output.recipe, "--out", again)).code, 0);
    const a = await tensorsOf(out);
    const b = await tensorsOf(again);
    for (const [name, bytes] of a) assert.ok(bytes.equals(b.get(name)!), `tensor ${name} differs after apply`);
  });

  it("learns without labels (entropy objective) and compares by mean prediction entropy", async () => {
    const rows = gunzipSync(await readFile(DATA))
      .toString("utf8")
      .trim()
      .split("\n");
    const unlabeled = join(dir, "unlabeled.csv");
    await writeFile(unlabeled, rows.map((r) => r.split(",").slice(0, 64).join(",")).join("\n") + "\n");
    const run = await runCli(
      "learn",
      ...models,
      "--data",
      unlabeled,
      "--label",
      "none",
      "--objective",
      "entropy",
      "--json",
      "--backend",
      "cpu",
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(report.metricName, "entropy");
    assert.ok(report.metrics.merged.loss > 0 && report.metrics.merged.loss < Math.log(10));
    assert.match(report.warnings.join("\n"), /has no labels/);

    const supervisedOnly = await runCli("learn", ...models, "--data", unlabeled, "--label", "none", "--backend", "cpu");
    assert.equal(supervisedOnly.code, 2);
    assert.match(supervisedOnly.stderr, /needs labels; use the entropy objective/);
  });

  it("greedy soup and evaluate report on the held-out split", async () => {
    const greedy = await runCli(
      "greedy",
      ...models,
      "--data",
      DATA,
      "--out",
      join(dir, "greedy", "model.json"),
      "--json",
      "--backend",
      "cpu",
    );
    assert.equal(greedy.code, 0, greedy.stderr);
    const g = JSON.parse(greedy.stdout);
    assert.equal(g.method, "greedy soup");
    assert.ok(g.coefficients.some((c: number) => c > 0));
    const evaluate = await runCli("evaluate", ...models, "--data", DATA, "--json", "--backend", "cpu");
    assert.equal(evaluate.code, 0, evaluate.stderr);
    const e = JSON.parse(evaluate.stdout);
    assert.equal(e.metrics.ingredients.length, 3);
    assert.ok(e.metrics.ensemble.metric > 0.5);
  });

  it("evaluate --weights compares that weighted soup: weights 1,0,0 score exactly as ingredient 1", async () => {
    const run = await runCli("evaluate", ...models, "--data", DATA, "--weights", "1,0,0", "--json", "--backend", "cpu");
    assert.equal(run.code, 0, run.stderr);
    const e = JSON.parse(run.stdout);
    assert.deepEqual(e.coefficients, [1, 0, 0]);
    // Every score of the row (loss, accuracy, balanced accuracy) is ingredient 1's.
    const scores = ({ model: _model, ...rest }: { model: string }) => rest;
    assert.deepEqual(e.metrics.merged, scores(e.metrics.ingredients[0]));
    assert.ok("balancedAccuracy" in e.metrics.merged);
    assert.notDeepEqual(e.metrics.merged, scores(e.metrics.ingredients[1]));
    const text = await runCli("evaluate", ...models, "--data", DATA, "--weights", "0,1,0", "--backend", "cpu");
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /weighted average/);
    const wrong = await runCli("evaluate", ...models, "--data", DATA, "--weights", "1,0", "--backend", "cpu");
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /--weights has 2 value\(s\) for 3 model\(s\)/);
  });

  it("prints the comparison table and the mergeability of every pair as text", async () => {
    const run = await runCli("evaluate", ...models, "--data", DATA, "--backend", "cpu");
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /uniform soup\s+\d\.\d{4}\s+\d+\.\d\d%/);
    assert.match(run.stdout, /output ensemble \(N× cost\)/);
    // The verdict in words comes first (src/core/report/verdict.ts).
    assert.match(
      run.stdout.split("\n")[0]!,
      /^(The uniform soup is the best single-size model: loss \d\.\d{4} against \d\.\d{4} for the best ingredient \(ingredient [1-3]\), |No merge beat the best ingredient \(ingredient [1-3]\)(: keep it, or add data\.| on loss: the uniform soup scores ))/,
    );
    assert.match(run.stdout, /Mergeability \(3 pairs, validation split\): weight cosine 0\.9\d\d–0\.9\d\d/);
  });

  it("names the data file when it does not fit the model, and writes nothing", async () => {
    const bad = join(dir, "bad.csv");
    await writeFile(bad, "1,2,3,0\n4,5,6,1\n");
    const out = join(dir, "never", "model.json");
    const run = await runCli("learn", ...models, "--data", bad, "--out", out, "--backend", "cpu");
    assert.equal(run.code, 2);
    assert.match(run.stderr, /bad\.csv: rows have 3 features; the model expects input \[batch, 64\]/);
    await assert.rejects(readFile(out));
  });
});
