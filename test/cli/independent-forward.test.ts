import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strFromU8, strToU8, unzipSync, zipSync } from "fflate";
import { scoreOnDefaultTestSplit, scoreOnFile } from "../support/independent-forward.js";
import { runCli } from "./run-cli.js";

const FAMILIES = "test/fixtures/real-families";
const TOLERANCE = 1e-4;

/** A copy of a .keras file whose compile config names another loss (the worker does not run custom losses). */
async function withLoss(source: string, target: string, loss: string): Promise<void> {
  const entries = unzipSync(new Uint8Array(await readFile(source)));
  const config = JSON.parse(strFromU8(entries["config.json"]!));
  config.compile_config.loss = loss;
  entries["config.json"] = strToU8(JSON.stringify(config));
  await writeFile(target, zipSync(Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, [v, { level: 0 }]]))));
}

interface EvaluatedModel {
  model: string;
  loss: number;
  metric: number;
}

async function evaluate(models: string[], data: string): Promise<EvaluatedModel[]> {
  const run = await runCli("evaluate", ...models, "--data", data, "--backend", "cpu", "--json");
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout).metrics.ingredients;
}

describe("the independent float64 scorer (test/support/independent-forward.ts)", function () {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-independent-"));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("agrees with the worker's evaluate on the digits sample (TF.js Dense models) to 1e-4", async () => {
    const models = ["ingredient-1", "ingredient-7"].map((m) => `samples/digits/models/${m}/model.json`);
    const data = "samples/digits/soup.csv.gz";
    const reported = await evaluate(models, data);
    for (const [i, model] of models.entries()) {
      const mine = await scoreOnDefaultTestSplit(model, data);
      assert.equal(mine.rows, 180);
      assert.ok(
        Math.abs(mine.loss - reported[i]!.loss) < TOLERANCE,
        `${model}: loss ${mine.loss} vs ${reported[i]!.loss}`,
      );
      assert.ok(
        Math.abs(mine.accuracy - reported[i]!.metric) < TOLERANCE,
        `${model}: ${mine.accuracy} vs ${reported[i]!.metric}`,
      );
    }
  });

  it("agrees with it on Dense + BatchNormalization + Dropout models (softmax and sigmoid) to 1e-4", async () => {
    const softmax = join(dir, "softmax.keras");
    const sigmoid = join(dir, "sigmoid.keras");
    await withLoss(`${FAMILIES}/softmax/keras3/model_fold_1.keras`, softmax, "sparse_categorical_crossentropy");
    await withLoss(`${FAMILIES}/sigmoid/keras3/model_fold_1.keras`, sigmoid, "binary_crossentropy");
    const data = `${FAMILIES}/table.csv`;
    for (const model of [softmax, sigmoid]) {
      const [reported] = await evaluate([model, model], data);
      const mine = await scoreOnDefaultTestSplit(model, data);
      assert.ok(Math.abs(mine.loss - reported!.loss) < TOLERANCE, `${model}: loss ${mine.loss} vs ${reported!.loss}`);
      assert.ok(
        Math.abs(mine.accuracy - reported!.metric) < TOLERANCE,
        `${model}: ${mine.accuracy} vs ${reported!.metric}`,
      );
    }
  });

  it("scores the Keras 2 and Keras 3 files of one fold the same, and a weights-only checkpoint through its full model", async () => {
    const test = `${FAMILIES}/test.csv`;
    for (const variant of ["softmax", "sigmoid"]) {
      const h5 = await scoreOnFile(`${FAMILIES}/${variant}/keras2/model_fold_2.h5`, test);
      const keras = await scoreOnFile(`${FAMILIES}/${variant}/keras3/model_fold_2.keras`, test);
      assert.equal(h5.loss, keras.loss);
      assert.equal(h5.accuracy, keras.accuracy);
      assert.ok(h5.loss > 0.05 && h5.loss < 0.7, `a trained model's loss, not chance or perfect: ${h5.loss}`);
    }
    const last = await scoreOnFile(`${FAMILIES}/checkpoints/weights.10.h5`, test, {
      architecture: `${FAMILIES}/checkpoints/model.h5`,
    });
    const full = await scoreOnFile(`${FAMILIES}/checkpoints/model.h5`, test);
    assert.equal(last.loss, full.loss, "the last epoch's weights are the full model's");
    const earlier = await scoreOnFile(`${FAMILIES}/checkpoints/weights.07.h5`, test, {
      architecture: `${FAMILIES}/checkpoints/model.h5`,
    });
    assert.notEqual(earlier.loss, full.loss);
  });

  it("matches the figures the fixture script recorded in tfjs (float32) for every fold", async () => {
    const recorded = JSON.parse(await readFile(`${FAMILIES}/training.json`, "utf8"));
    for (const variant of ["softmax", "sigmoid"]) {
      for (const fold of recorded[variant]) {
        const mine = await scoreOnFile(`${FAMILIES}/${variant}/keras3/${fold.file}.keras`, `${FAMILIES}/test.csv`);
        assert.ok(Math.abs(mine.loss - fold.test.loss) < TOLERANCE, `${fold.file}: ${mine.loss} vs ${fold.test.loss}`);
        assert.ok(Math.abs(mine.accuracy - fold.test.accuracy) < TOLERANCE);
      }
    }
  });

  it("refuses a model with a layer it does not run", async () => {
    await assert.rejects(
      scoreOnFile("test/fixtures/keras3/cnn_a.keras", `${FAMILIES}/test.csv`),
      /does not run Conv2D layers/,
    );
  });
});
