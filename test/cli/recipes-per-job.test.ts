/**
 * The recipe of each kind of job, pinned: what was done (origin, method, learning), on what data (path and test rows
 * relative to the recipe, with their SHA-256, label, scale, split seed and fractions, the loss), what it scored
 * (metrics), where (backend). Volatile fields (created, hashes of outputs) are not compared. Families: the k-fold
 * BatchNormalization classifiers of test/fixtures/real-families (Keras 3, custom training loss) with the user's own
 * test rows, and the digits sample's fine-tunes for the aligned merge (REPAIR scores it; they have no
 * BatchNormalization).
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { sha256File } from "../../src/core/recipe/hash.js";
import { saveRequest } from "../../src/host/panel-request.js";
import { DEFAULT_CONFIG, type MergeConfig } from "../../src/protocol/panel.js";
import type { MergeParams, SoupReport } from "../../src/protocol/worker.js";
import { runCheckedMerge } from "../../src/worker/jobs/merge.js";
import { runCli } from "./run-cli.js";

const FAMILIES = "test/fixtures/real-families";
const TABLE = join(FAMILIES, "table.csv");
const TEST = join(FAMILIES, "test.csv");
const KERAS3 = join(FAMILIES, "softmax", "keras3");
const DIGITS = "samples/digits";
const DIGITS_DATA = join(DIGITS, "soup.csv.gz");

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function recipeAt(path: string): Promise<Json> {
  return JSON.parse(await readFile(path, "utf8"));
}

async function json<T>(...args: string[]): Promise<T> {
  const run = await runCli(...args, "--backend", "cpu", "--json");
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as T;
}

/** The data record every recipe of a soup made on data carries, its paths relative to the recipe. */
async function assertData(
  recipe: Json,
  recipePath: string,
  expected: { path: string; test?: string; scale?: number; fractions: Record<string, number> },
): Promise<void> {
  const rel = (p: string) => relative(dirname(recipePath), resolve(p));
  assert.equal(recipe.data.path, rel(expected.path));
  assert.equal(recipe.data.sha256, await sha256File(expected.path));
  if (expected.test !== undefined) {
    assert.deepEqual(recipe.data.test, { path: rel(expected.test), sha256: await sha256File(expected.test) });
  } else assert.equal(recipe.data.test, undefined);
  assert.equal(recipe.data.scale, expected.scale);
  assert.equal(recipe.data.inputKey, undefined);
  assert.equal(recipe.data.seed, 0);
  assert.deepEqual(recipe.data.fractions, expected.fractions);
  assert.match(recipe.data.loss, /crossentropy$/);
}

/** What a scored soup's recipe says it scored: the metric's name and the merged model's figures (the report's). */
function assertMetrics(recipe: Json, merged: { loss: number; metric: number } | undefined): void {
  assert.equal(recipe.metrics.metricName, "accuracy");
  assert.equal(typeof recipe.metrics.merged.loss, "number");
  assert.equal(typeof recipe.metrics.merged.metric, "number");
  if (merged !== undefined) assert.deepEqual(recipe.metrics.merged, merged);
  assert.equal(recipe.backend, "cpu");
}

const OWN_TEST = { learn: 0.75, validation: 0.25, test: 0 };

describe("the recipe of each kind of job", function () {
  let dir: string;
  let learned: SoupReport;
  before(async () => (dir = await mkdtemp(join(tmpdir(), "soup-recipes-"))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it("merge (fixed weights): the method and weights, no data, metrics or backend (nothing was run)", async () => {
    const saved = await json<{ recipe: string }>("merge", KERAS3, "--weights", "1,2,3,4", "--out", join(dir, "fixed"));
    const recipe = await recipeAt(saved.recipe);
    assert.equal(recipe.origin, "manual");
    assert.equal(recipe.merge.method, "linear");
    assert.deepEqual(
      recipe.merge.ingredients.map((g: Json) => g.weight),
      [1, 2, 3, 4],
    );
    assert.equal(recipe.inputs.length, 4);
    for (const key of ["learning", "data", "metrics", "backend", "overrides"])
      assert.equal(recipe[key], undefined, key);
  });

  it("merge --method regmean --data --test: the statistics' split, the data and test rows, metrics, backend", async () => {
    const report = await json<SoupReport>(
      "merge",
      KERAS3,
      "--method",
      "regmean",
      "--data",
      TABLE,
      "--test",
      TEST,
      "--out",
      join(dir, "regmean"),
    );
    const recipe = await recipeAt(report.output!.recipe);
    assert.equal(recipe.origin, "regmean");
    assert.equal(recipe.merge.method, "regmean");
    assert.equal(recipe.learning.statistics.split, "learn");
    assert.equal(recipe.learning.statistics.rows, report.split.learn);
    await assertData(recipe, report.output!.recipe, { path: TABLE, test: TEST, fractions: OWN_TEST });
    assertMetrics(recipe, report.metrics.merged);
  });

  it("merge --method fisher --data: Fisher's examples and target", async () => {
    const report = await json<SoupReport>(
      "merge",
      KERAS3,
      "--method",
      "fisher",
      "--data",
      TABLE,
      "--examples",
      "64",
      "--out",
      join(dir, "fisher"),
    );
    const recipe = await recipeAt(report.output!.recipe);
    assert.equal(recipe.origin, "fisher");
    assert.equal(recipe.merge.method, "fisher");
    assert.equal(recipe.learning.statistics.examples, 64);
    assert.equal(recipe.learning.statistics.target, "labels");
    await assertData(recipe, report.output!.recipe, {
      path: TABLE,
      fractions: { learn: 0.6, validation: 0.2, test: 0.2 },
    });
    assertMetrics(recipe, report.metrics.merged);
  });

  it("merge --align --data: the alignment, the data with the loss, REPAIR's validation figures, backend", async () => {
    const models = [1, 2, 3].map((i) => join(DIGITS, "models", `ingredient-${i}`, "model.json"));
    const aligned = await json<{ outputs: { recipe: string }[]; alignment: Json }>(
      "merge",
      ...models,
      "--align",
      "activation",
      "--data",
      DIGITS_DATA,
      "--out",
      join(dir, "aligned"),
    );
    const path = aligned.outputs[0]!.recipe;
    const recipe = await recipeAt(path);
    assert.equal(recipe.origin, "uniform");
    assert.equal(recipe.merge.method, "uniform");
    assert.equal(recipe.alignment.method, "activation");
    assert.equal(recipe.alignment.permutations.length, 3);
    await assertData(recipe, path, { path: DIGITS_DATA, fractions: { learn: 0.6, validation: 0.2, test: 0.2 } });
    assert.equal(recipe.metrics.split, "validation");
    const repair = aligned.alignment.repair;
    assert.deepEqual(recipe.metrics.merged, repair.kept ? repair.validation.after : repair.validation.before);
    assertMetrics(recipe, undefined);
  });

  it("learn --test --scale: the learning (granularity, objective, loss, what was kept, BatchNormalization), data, metrics", async () => {
    learned = await json<SoupReport>(
      "learn",
      KERAS3,
      "--data",
      TABLE,
      "--test",
      TEST,
      "--scale",
      "1",
      "--steps",
      "40",
      "--out",
      join(dir, "learned"),
    );
    const recipe = await recipeAt(learned.output!.recipe);
    assert.equal(recipe.origin, "learned");
    assert.equal(recipe.merge.method, "linear");
    assert.deepEqual(
      recipe.merge.ingredients.map((g: Json) => g.weight),
      learned.coefficients,
    );
    assert.equal(recipe.learning.granularity, "model");
    assert.equal(recipe.learning.objective, "supervised");
    assert.match(recipe.learning.loss, /crossentropy$/);
    assert.equal(recipe.learning.kept, learned.learning!.kept);
    assert.equal(recipe.learning.steps, learned.learning!.steps);
    assert.match(recipe.learning.batchNorm, /^(averaged|re-estimated)$/);
    assert.equal(recipe.overrides !== undefined, recipe.learning.batchNorm === "re-estimated");
    await assertData(recipe, learned.output!.recipe, { path: TABLE, test: TEST, scale: 1, fractions: OWN_TEST });
    assertMetrics(recipe, learned.metrics.merged);
  });

  it("greedy: the models it kept and how BatchNormalization was treated, data, metrics", async () => {
    const report = await json<SoupReport>(
      "greedy",
      KERAS3,
      "--data",
      TABLE,
      "--test",
      TEST,
      "--out",
      join(dir, "greedy"),
    );
    const recipe = await recipeAt(report.output!.recipe);
    assert.equal(recipe.origin, "greedy");
    assert.equal(recipe.merge.method, "linear");
    assert.ok(Array.isArray(recipe.learning.kept) && recipe.learning.kept.length > 0);
    assert.match(recipe.learning.batchNorm, /^(averaged|re-estimated)$/);
    await assertData(recipe, report.output!.recipe, { path: TABLE, test: TEST, fractions: OWN_TEST });
    assertMetrics(recipe, report.metrics.merged);
  });

  it("the editor's save of the learned soup: the recipe learn wrote, through the worker's merge request", async () => {
    const models = learned.metrics.ingredients.map((i) => i.model);
    const config: MergeConfig = {
      ...DEFAULT_CONFIG,
      method: "learned",
      ingredients: models.map((path) => ({ path, include: true, coefficient: 1 })),
      data: { path: TABLE, test: TEST },
    } as MergeConfig;
    const job = saveRequest({
      config,
      panelModels: models,
      reported: learned.coefficients,
      record: learned.record!,
      out: join(dir, "panel", "model.keras"),
      jobId: "save",
    });
    assert.equal(job.request, "merge");
    const saved = await runCheckedMerge(
      job.params as MergeParams,
      {
        token: undefined,
        progress: () => {},
        log: () => {},
      } as never,
    );
    const recipe = await recipeAt(saved.recipe);
    const cli = await recipeAt(learned.output!.recipe);
    for (const key of ["origin", "learning", "metrics", "backend", "overrides"])
      assert.deepEqual(recipe[key], cli[key], key);
    assert.equal(recipe.merge.method, "linear");
    await assertData(recipe, saved.recipe, { path: TABLE, test: TEST, scale: 1, fractions: OWN_TEST });
    assertMetrics(recipe, learned.metrics.merged);
  });
});
