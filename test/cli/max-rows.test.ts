/**
 * `--max-rows` through the real CLI: RegMean on a seeded sample of an x.npy / y.npy pair whose other rows are NaN
 * (so reading any of them would be refused), the report saying which rows, the recipe recording the count, and
 * `apply` recomputing the statistics on the same sample to the same bytes.
 */
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadDataset } from "../../src/core/data/load.js";
import { sampleRowIndices } from "../../src/core/data/row-sample.js";
import { bytesOf, npyBytes } from "../core/data/helpers.js";
import { float32Tensors } from "../support/model-files.js";
import { runCli } from "./run-cli.js";

const SAMPLE = "samples/digits";

describe("model-soup --max-rows: a seeded sample of the data, read by offset from an .npy pair", function () {
  this.timeout(240_000);
  let dir: string;
  let models: string[];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-max-rows-"));
    models = [];
    for (const i of [1, 2, 3]) {
      await cp(join(SAMPLE, "models", `ingredient-${i}`), join(dir, `ingredient-${i}`), { recursive: true });
      models.push(join(dir, `ingredient-${i}`, "model.json"));
    }
    // The soup rows four times over (3596 rows), NaN in every row the sample leaves out.
    const soup = await loadDataset(join(SAMPLE, "soup.csv.gz"), { scale: 1 / 16 });
    const rows = soup.xShape[0]! * 4;
    const width = soup.xShape[1]!;
    const keep = new Set(sampleRowIndices(rows, 600, 0));
    const x = new Float32Array(rows * width);
    const y = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      const from = r % soup.xShape[0]!;
      x.set(
        keep.has(r) ? soup.x.subarray(from * width, (from + 1) * width) : new Float32Array(width).fill(NaN),
        r * width,
      );
      y[r] = soup.y![from]!;
    }
    await writeFile(join(dir, "x.npy"), npyBytes("<f4", [rows, width], bytesOf(x)));
    await writeFile(join(dir, "y.npy"), npyBytes("<i4", [rows], bytesOf(y)));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("merges on the sample only, says so, records it, and apply rebuilds the same bytes from the same rows", async () => {
    const out = join(dir, "regmean", "model.json");
    const data = join(dir, "x.npy");
    const run = await runCli(
      ...["merge", ...models, "--method", "regmean", "--data", data, "--max-rows", "600", "--out", out, "--json"],
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as {
      warnings: string[];
      split: { learn: number; validation: number; test: number };
    };
    assert.equal(report.split.learn + report.split.validation + report.split.test, 600);
    assert.ok(
      report.warnings.includes(
        `${data}: a seeded sample of 600 of its 3,596 rows (--max-rows 600, seed 0), read by offset: only those rows were read`,
      ),
      report.warnings.join("\n"),
    );
    const recipe = JSON.parse(await readFile(join(dir, "regmean", "model.recipe.json"), "utf8"));
    assert.equal(recipe.data.maxRows, 600);
    const again = join(dir, "again", "model.json");
    const apply = await runCli("apply", join(dir, "regmean", "model.recipe.json"), "--out", again);
    assert.equal(apply.code, 0, apply.stderr);
    assert.deepEqual(await float32Tensors(again), await float32Tensors(out));

    // Without the sample the NaN rows are read, and refused in one line naming the file.
    const whole = await runCli("merge", ...models, "--method", "regmean", "--data", data, "--out", join(dir, "w.json"));
    assert.equal(whole.code, 2);
    assert.match(whole.stderr, /x\.npy/);
    const refused = await runCli("merge", ...models, "--method", "regmean", "--data", data, "--max-rows", "0");
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--max-rows expects a whole number of rows, 1 or more; got 0/);
  });
});
