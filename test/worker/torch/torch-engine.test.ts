import assert from "node:assert/strict";
import type { PythonWithTorch } from "../../../src/core/python/find-python.js";
import type { CoefficientLayout } from "../../../src/worker/engine/soup-engine.js";
import { readIngredient, TorchEngine } from "../../../src/worker/torch/torch-engine.js";
import {
  closeTo,
  dataSplit,
  FACTORY,
  fixture,
  LOGITS_OBJECTIVE,
  MLP_STATE_DICTS,
  reference,
  requireTorch,
} from "./support.js";

const MODEL: CoefficientLayout = { groupOf: [], groups: 1 };

function modelLayout(engine: TorchEngine): CoefficientLayout {
  return { groupOf: engine.layerOf.map(() => 0), groups: 1 };
}

function layerLayout(engine: TorchEngine): CoefficientLayout {
  const layers = [...new Set(engine.layerOf)];
  return { groupOf: engine.layerOf.map((l) => layers.indexOf(l)), groups: layers.length };
}

describe("TorchEngine on a state-dict MLP (BatchNorm1d, Dropout) built by user code", function () {
  this.timeout(300_000);
  let python: PythonWithTorch;
  let engine: TorchEngine;
  const alpha = Float64Array.from([0.5, 0.3, 0.2]);

  before(async function () {
    python = await requireTorch(this);
    const learn = await dataSplit(fixture("mlp_data.pt"));
    engine = await TorchEngine.start({
      python,
      model: { architecture: FACTORY },
      ingredients: await Promise.all(MLP_STATE_DICTS.map(readIngredient)),
      splits: { learn, validation: learn },
      device: "cpu",
      batchSize: 40,
    });
  });
  after(async () => engine?.dispose());

  it("describes itself and its layers", () => {
    assert.equal(engine.kind, "torch");
    assert.match(engine.description, /^PyTorch \d+\.\d+.*, cpu, /);
    assert.equal(engine.ingredients, 3);
    assert.deepEqual([...new Set(engine.layerOf)], ["0", "1", "4"]);
    assert.deepEqual(engine.batchNormLayers, ["1"]);
    assert.equal(engine.rows("learn"), 96);
    assert.equal(engine.rows("learn+validation"), 192);
  });

  it("score and predict match plain torch on the merged state dict", async () => {
    await engine.write(alpha, modelLayout(engine));
    const expected = reference<{ pred: number[]; loss: number; accuracy: number }>(python, {
      op: "merged",
      files: MLP_STATE_DICTS,
      alpha: [...alpha],
      factory: FACTORY,
      data: fixture("mlp_data.pt"),
    });
    const { values, shape } = await engine.predict({ split: "learn" });
    assert.deepEqual(shape, [96, 3]);
    values.forEach((v, k) => closeTo(v, expected.pred[k]!, 1e-4, `prediction ${k}`));
    const score = await engine.score({ split: "learn" }, LOGITS_OBJECTIVE);
    closeTo(score.loss, expected.loss, 1e-5, "loss");
    closeTo(score.metric!, expected.accuracy, 1e-9, "accuracy");
  });

  it("gradient matches an independent float64 autograd of the hand-written forward (statistics included)", async () => {
    await engine.write(alpha, modelLayout(engine));
    const { loss, gradAlpha } = await engine.gradient({ split: "learn" }, LOGITS_OBJECTIVE);
    const expected = reference<{ loss: number; grad: number[] }>(python, {
      op: "gradient",
      files: MLP_STATE_DICTS,
      alpha: [...alpha],
      factory: FACTORY,
      data: fixture("mlp_data.pt"),
    });
    closeTo(loss, expected.loss, 1e-5, "loss");
    gradAlpha.forEach((g, i) => closeTo(g, expected.grad[i]!, 2e-4, `dL/dα${i}`));
  });

  it("gradient matches finite differences of score, at layer granularity, on a row subset", async () => {
    const layout = layerLayout(engine);
    const a = Float64Array.from({ length: 3 * layout.groups }, (_, k) => 0.2 + 0.05 * k);
    const rows = { split: "learn" as const, indices: Int32Array.from([5, 1, 77, 30, 30, 64, 2, 90, 41, 12]) };
    await engine.write(a, layout);
    const { loss, gradAlpha } = await engine.gradient(rows, LOGITS_OBJECTIVE);
    closeTo(loss, (await engine.score(rows, LOGITS_OBJECTIVE)).loss, 1e-6, "loss against score");
    const h = 1e-2;
    for (let k = 0; k < a.length; k++) {
      const plus = Float64Array.from(a);
      const minus = Float64Array.from(a);
      plus[k] += h;
      minus[k] -= h;
      await engine.write(plus, layout);
      const up = (await engine.score(rows, LOGITS_OBJECTIVE)).loss;
      await engine.write(minus, layout);
      const down = (await engine.score(rows, LOGITS_OBJECTIVE)).loss;
      closeTo(gradAlpha[k]!, (up - down) / (2 * h), 3e-3, `dL/dα[${k}] against finite differences`);
    }
  });

  it("re-estimates BatchNorm statistics as the population moments of each layer's input, in batches of 40", async () => {
    await engine.write(alpha, modelLayout(engine));
    const averaged = await engine.readBatchNorm();
    assert.deepEqual(averaged.layers, ["1"]);
    assert.equal(averaged.values.length, 2);
    await engine.reestimateBatchNorm({ split: "learn" });
    const estimated = await engine.readBatchNorm();
    const expected = reference<{ layers: number[][][]; torch: Array<{ count: number; running_var: number[] }> }>(
      python,
      { op: "bn", files: MLP_STATE_DICTS, alpha: [...alpha], factory: FACTORY, data: fixture("mlp_data.pt") },
    );
    expected.layers[0]!.forEach((stat, s) =>
      stat.forEach((v, c) => closeTo(estimated.values[s]![c]!, v, 1e-5, `statistic ${s} channel ${c}`)),
    );
    // The biased variance (TF.js and Keras), not torch's unbiased running_var: they differ by count/(count − 1).
    const { count, running_var: unbiased } = expected.torch[0]!;
    assert.equal(count, 96);
    unbiased.forEach((v, c) =>
      closeTo(estimated.values[1]![c]!, (v * (count - 1)) / count, 1e-5, `variance ${c} against torch's`),
    );
    assert.ok(
      unbiased.some((v, c) => Math.abs(v - estimated.values[1]![c]!) > 1e-3 * Math.abs(v)),
      "torch's unbiased variance is not what the engine stores",
    );
    assert.ok(
      estimated.values[1]!.some((v, c) => Math.abs(v - averaged.values[1]![c]!) > 1e-3),
      "the statistics moved",
    );
    // Back to the averaged statistics: the score is the averaged soup's again.
    await engine.writeBatchNorm(averaged);
    const back = await engine.readBatchNorm();
    assert.deepEqual(back.values, averaged.values);
    await assert.rejects(
      engine.writeBatchNorm({ layers: ["1"], values: [new Float32Array(3)] }),
      /BatchNorm statistics of 3 values/,
    );
  });

  it("readMerged gives the written soup's tensors", async () => {
    await engine.write(Float64Array.from([0, 1, 0]), modelLayout(engine));
    const merged = await engine.readMerged();
    const second = await readIngredient(MLP_STATE_DICTS[1]!);
    assert.equal(merged.length, engine.layerOf.length);
    const weight = second.tensors.find((t) => t.name === "0.weight")!.data as Float32Array;
    assert.deepEqual(merged[0], weight);
  });

  it("refuses a layout that does not fit, and rows past the split, in one line", async () => {
    await assert.rejects(engine.write(Float64Array.from([1, 0]), MODEL), /2 coefficients for 3 ingredients/);
    await assert.rejects(
      engine.score({ split: "learn", indices: Int32Array.from([0, 96]) }, LOGITS_OBJECTIVE),
      /^EngineError: row index out of range for the learn split of 96 rows$/m,
    );
    await assert.rejects(engine.score({ split: "test" }, LOGITS_OBJECTIVE), /the engine was given no test split/);
  });
});

describe("TorchEngine on TorchScript files", function () {
  this.timeout(300_000);

  it("runs the MLP's TorchScript as the state dict with its factory runs (same predictions)", async function () {
    const python = await requireTorch(this);
    const learn = await dataSplit(fixture("mlp_data.pt"));
    const files = [0, 1, 2].map((i) => fixture(`mlp_ft${i}.ts.pt`));
    const engine = await TorchEngine.start({
      python,
      model: { torchScript: files[0]! },
      ingredients: await Promise.all(files.map(readIngredient)),
      splits: { learn },
      device: "cpu",
    });
    try {
      const alpha = Float64Array.from([0.2, 0.2, 0.6]);
      await engine.write(alpha, modelLayout(engine));
      const expected = reference<{ pred: number[] }>(python, {
        op: "merged",
        files: MLP_STATE_DICTS,
        alpha: [...alpha],
        factory: FACTORY,
        data: fixture("mlp_data.pt"),
      });
      const { values } = await engine.predict({ split: "learn" });
      values.forEach((v, k) => closeTo(v, expected.pred[k]!, 1e-4, `prediction ${k}`));
      assert.deepEqual(engine.batchNormLayers, ["1"]);
      // Re-estimation also works where hooks cannot (a ScriptModule): exact over one batch of all rows.
      await engine.reestimateBatchNorm({ split: "learn" });
      const bn = reference<{ layers: number[][][] }>(python, {
        op: "bn",
        files: MLP_STATE_DICTS,
        alpha: [...alpha],
        factory: FACTORY,
        data: fixture("mlp_data.pt"),
      });
      const estimated = await engine.readBatchNorm();
      bn.layers[0]!.forEach((stat, s) =>
        stat.forEach((v, c) => closeTo(estimated.values[s]![c]!, v, 1e-5, `statistic ${s} channel ${c}`)),
      );
    } finally {
      await engine.dispose();
    }
  });

  it("takes the Conv1D network's gradient (BatchNorm statistics included) as finite differences do", async function () {
    const python = await requireTorch(this);
    const learn = await dataSplit(fixture("conv_data.pt"));
    const files = [0, 1].map((i) => fixture(`conv_ft${i}.ts.pt`));
    const engine = await TorchEngine.start({
      python,
      model: { torchScript: files[0]! },
      ingredients: await Promise.all(files.map(readIngredient)),
      splits: { learn },
      device: "cpu",
      batchSize: 16,
    });
    try {
      assert.deepEqual(engine.batchNormLayers, ["1"]);
      const layout = layerLayout(engine);
      const a = Float64Array.from({ length: 2 * layout.groups }, (_, k) => 0.3 + 0.07 * k);
      await engine.write(a, layout);
      const { gradAlpha } = await engine.gradient({ split: "learn" }, LOGITS_OBJECTIVE);
      const h = 1e-2;
      for (let k = 0; k < a.length; k++) {
        const plus = Float64Array.from(a);
        const minus = Float64Array.from(a);
        plus[k] += h;
        minus[k] -= h;
        await engine.write(plus, layout);
        const up = (await engine.score({ split: "learn" }, LOGITS_OBJECTIVE)).loss;
        await engine.write(minus, layout);
        const down = (await engine.score({ split: "learn" }, LOGITS_OBJECTIVE)).loss;
        closeTo(gradAlpha[k]!, (up - down) / (2 * h), 3e-3, `dL/dα[${k}]`);
      }
    } finally {
      await engine.dispose();
    }
  });
});

describe("TorchEngine in the task-vector form (a base)", function () {
  this.timeout(300_000);

  it("writes base + Σ α_i (W_i − base), as plain torch merges (1 − Σα) base + Σ α_i W_i", async function () {
    const python = await requireTorch(this);
    const [w0, w1, w2] = await Promise.all(MLP_STATE_DICTS.map(readIngredient));
    const engine = await TorchEngine.start({
      python,
      model: { architecture: FACTORY },
      base: w0,
      ingredients: [w1!, w2!],
      splits: { learn: await dataSplit(fixture("mlp_data.pt")) },
      device: "cpu",
    });
    try {
      await engine.write(Float64Array.from([0.5, 0.25]), modelLayout(engine));
      const expected = reference<{ pred: number[] }>(python, {
        op: "merged",
        files: MLP_STATE_DICTS,
        alpha: [0.25, 0.5, 0.25],
        factory: FACTORY,
        data: fixture("mlp_data.pt"),
      });
      const { values } = await engine.predict({ split: "learn" });
      values.forEach((v, k) => closeTo(v, expected.pred[k]!, 1e-4, `prediction ${k}`));
    } finally {
      await engine.dispose();
    }
  });
});
