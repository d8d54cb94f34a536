/**
 * The written-file check on every job that writes a scored model: each file here is scored independently of the job
 * (test/support/independent-forward.ts, plain JavaScript) against what its report and recipe say, and a file that
 * is not the soup that was scored is refused with both figures and removed: `merge --align --data` (REPAIR scored
 * it on validation), `learn --objective entropy` (label-free: the mean entropy of its predictions), and the
 * editor's Save of a soup a job scored (the worker's merge request with the job's record).
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { loadDataset } from "../../src/core/data/load.js";
import { DEFAULT_SPLIT, splitDataset } from "../../src/core/data/split.js";
import { saveRequest } from "../../src/host/panel-request.js";
import { DEFAULT_CONFIG, type MergeConfig } from "../../src/protocol/panel.js";
import type { EvaluateReport, MergeParams, RecipeRecord, SoupReport } from "../../src/protocol/worker.js";
import { runCheckedMerge, savesScoredSoup } from "../../src/worker/jobs/merge.js";
import { scoreOnDataset, scoreOnFile } from "../support/independent-forward.js";
import { runCli } from "./run-cli.js";

const DIGITS = "samples/digits";
const DIGITS_DATA = join(DIGITS, "soup.csv.gz");
const FAMILIES = "test/fixtures/real-families";
const TABLE = join(FAMILIES, "table.csv");
const TEST = join(FAMILIES, "test.csv");
const KERAS3 = join(FAMILIES, "softmax", "keras3");

const context = { token: undefined, progress: () => {}, log: () => {} } as never;

function close(file: number, reported: number, what: string, tolerance = 1e-4): void {
  assert.ok(Math.abs(file - reported) <= tolerance * Math.abs(reported), `${what}: file ${file}, report ${reported}`);
}

async function json<T>(...args: string[]): Promise<T> {
  const run = await runCli(...args, "--backend", "cpu", "--json");
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as T;
}

describe("the written-file check on every job that writes a scored model", function () {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), "soup-written-check-"))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it("merge --align --data: the file scores on validation what REPAIR measured, and its recipe says so", async () => {
    const models = [1, 2, 3].map((i) => join(DIGITS, "models", `ingredient-${i}`, "model.json"));
    const out = join(dir, "aligned-merge");
    const aligned = await json<{ outputs: { model: string; recipe: string }[] }>(
      "merge",
      ...models,
      "--align",
      "activation",
      "--data",
      DIGITS_DATA,
      "--out",
      out,
    );
    const result = aligned.outputs[0]!;
    const recipe = JSON.parse(await readFile(result.recipe, "utf8"));
    assert.equal(recipe.metrics.split, "validation");
    assert.match(recipe.data.loss, /crossentropy$/);
    const validation = splitDataset(await loadDataset(DIGITS_DATA), DEFAULT_SPLIT).validation;
    const file = await scoreOnDataset(result.model, validation);
    close(file.loss, recipe.metrics.merged.loss, "aligned merge on validation");
    assert.ok(Math.abs(file.accuracy - recipe.metrics.merged.metric) < 1e-6);
  });

  it("learn --objective entropy: the file's mean prediction entropy is the report's, labels or none", async () => {
    // The same rows without their label column: what a user with unlabeled rows has.
    const unlabeled = join(dir, "unlabeled.csv");
    const lines = (await readFile(TABLE, "utf8")).trim().split("\n");
    await writeFile(unlabeled, lines.map((l) => l.split(",").slice(0, -1).join(",")).join("\n") + "\n");
    for (const label of [[], ["--label", "none"]]) {
      const out = join(dir, `entropy${label.length}`);
      const dataPath = label.length > 0 ? unlabeled : TABLE;
      const report = await json<SoupReport>(
        "learn",
        KERAS3,
        "--data",
        dataPath,
        ...label,
        "--objective",
        "entropy",
        "--steps",
        "20",
        "--out",
        out,
      );
      assert.equal(report.metricName, "entropy");
      const data = await loadDataset(dataPath, label.length > 0 ? { label: null } : {});
      const test = splitDataset(data, DEFAULT_SPLIT).test;
      const rows = test.xShape[0]!;
      const scored = await scoreOnDataset(report.output!.model, { ...test, y: new Int32Array(rows) });
      const clip = (p: number) => Math.min(Math.max(p, 1e-7), 1);
      const entropy =
        scored.outputs.reduce((s, p) => s - p.reduce((e, v) => e + v * Math.log(clip(v)), 0), 0) / scored.rows;
      close(entropy, report.metrics.merged.loss, `entropy soup ${label.join(" ")}`, 1e-3);
      const recipe = JSON.parse(await readFile(report.output!.recipe, "utf8"));
      assert.deepEqual(recipe.metrics.merged, report.metrics.merged);
      assert.equal(recipe.learning.objective, "entropy");
    }
  });

  describe("the editor's Save of a soup a job scored (the worker's merge request with the job's record)", () => {
    let evaluated: EvaluateReport;
    let models: string[];
    let config: MergeConfig;
    before(async () => {
      evaluated = await json<EvaluateReport>("evaluate", KERAS3, "--data", TABLE, "--test", TEST);
      models = evaluated.metrics.ingredients.map((i) => i.model);
      config = {
        ...DEFAULT_CONFIG,
        method: "uniform",
        ingredients: models.map((path) => ({ path, include: true, coefficient: 1 })),
        data: { path: TABLE, test: TEST },
      } as MergeConfig;
    });

    const save = (record: RecipeRecord, out: string) =>
      saveRequest({ config, panelModels: models, record, out, jobId: "save" }).params as MergeParams;

    it("the uniform soup saved with its record scores on the user's test rows what evaluate printed", async () => {
      const record = evaluated.records!.uniform;
      const out = join(dir, "panel-uniform", "model.keras");
      const params = save(record, out);
      assert.ok(savesScoredSoup(params));
      const saved = await runCheckedMerge(params, context);
      const file = await scoreOnFile(saved.model, TEST);
      close(file.loss, evaluated.metrics.uniform.loss, "the saved uniform soup on test.csv");
      const recipe = JSON.parse(await readFile(saved.recipe, "utf8"));
      assert.deepEqual(recipe.metrics.merged, evaluated.metrics.uniform);
      assert.equal(resolve(dirname(saved.recipe), recipe.data.test.path), resolve(TEST));
    });

    it("is refused, naming both figures and leaving nothing, when the BatchNormalization statistics it was scored with are not written", async () => {
      const record = evaluated.records!.uniform;
      // The uniform soup was scored with re-estimated statistics: without them the file is another model.
      assert.ok(record.overrides !== undefined && Object.keys(record.overrides).length > 0);
      const { overrides: _dropped, ...without } = record;
      const folder = join(dir, "panel-refused");
      await assert.rejects(runCheckedMerge(save(without, join(folder, "model.keras")), context), (e: Error) => {
        assert.match(
          e.message,
          /the written model .*model\.keras scores test loss \d\.\d+ .* where the soup judged scored/,
        );
        assert.ok(e.message.includes(String(evaluated.metrics.uniform.loss)), e.message);
        return true;
      });
      const left = await readdir(folder).catch(() => [] as string[]);
      assert.deepEqual(left, []);
      await assert.rejects(stat(join(folder, "model.recipe.json")));
    });

    it("a soup without metrics (manual weights) is only merged, as before", async () => {
      const params = saveRequest({
        config,
        panelModels: models,
        given: [0.7, 0.1, 0.1, 0.1],
        out: join(dir, "manual"),
        jobId: "m",
      }).params as MergeParams;
      assert.equal(savesScoredSoup(params), false);
    });
  });
});
