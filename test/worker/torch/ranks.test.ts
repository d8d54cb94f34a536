// --nproc: data-parallel ranks of the PyTorch engine (torch.distributed, gloo on CPU) answer as one rank does.
import assert from "node:assert/strict";
import type { PythonWithTorch } from "../../../src/core/python/find-python.js";
import { learnCoefficients, type LearnOptions } from "../../../src/worker/learn/learn.js";
import { readIngredient, TorchEngine, type TorchEngineOptions } from "../../../src/worker/torch/torch-engine.js";
import { closeTo, dataSplit, FACTORY, fixture, LOGITS_OBJECTIVE, MLP_STATE_DICTS, requireTorch } from "./support.js";

describe("TorchEngine with two data-parallel ranks (gloo, CPU)", function () {
  this.timeout(300_000);
  let python: PythonWithTorch;
  let options: TorchEngineOptions;

  before(async function () {
    python = await requireTorch(this);
    const data = await dataSplit(fixture("mlp_data.pt"));
    options = {
      python,
      model: { architecture: FACTORY },
      ingredients: await Promise.all(MLP_STATE_DICTS.map(readIngredient)),
      splits: { learn: data, validation: data },
      device: "cpu",
      threads: 1,
      batchSize: 40,
    };
  });

  it("learns the same coefficients as one rank (layer granularity, BatchNorm re-estimated)", async () => {
    const learn: LearnOptions = {
      granularity: "layer",
      maxSteps: 12,
      batchSize: 30,
      evaluateEvery: 4,
      learningRate: 0.05,
      reestimateBatchNorm: true,
      compareCandidates: false, // the learned path is kept: its re-estimated statistics are compared too
      refit: false,
      seed: 3,
    };
    const results = [];
    for (const nproc of [1, 2]) {
      const engine = await TorchEngine.start({ ...options, nproc });
      try {
        assert.equal(engine.rankPids.length, nproc - 1);
        if (nproc === 2) assert.match(engine.description, /, 2 ranks, /);
        const result = await learnCoefficients(engine, LOGITS_OBJECTIVE, learn);
        const predicted = await engine.predict({ split: "learn", indices: Int32Array.from([95, 0, 7, 7, 50]) });
        results.push({ result, statistics: await engine.readBatchNorm(), predicted });
      } finally {
        await engine.dispose();
      }
    }
    const [one, two] = results as [(typeof results)[0], (typeof results)[0]];
    assert.equal(one.result.steps, 12);
    assert.equal(two.result.steps, one.result.steps);
    assert.ok(one.result.batchNormStatistics !== undefined, "the statistics were re-estimated");
    one.result.coefficients.flat().forEach((c, k) => {
      closeTo(two.result.coefficients.flat()[k]!, c, 1e-5, `coefficient ${k}`);
    });
    closeTo(two.result.validation!.loss, one.result.validation!.loss, 1e-5, "validation loss");
    one.statistics.values.forEach((v, s) =>
      v.forEach((x, c) => closeTo(two.statistics.values[s]![c]!, x, 1e-5, `statistic ${s}[${c}]`)),
    );
    assert.deepEqual(two.predicted.shape, [5, 3]);
    one.predicted.values.forEach((v, k) => closeTo(two.predicted.values[k]!, v, 1e-5, `prediction ${k}`));
    // The coefficients moved from the uniform start: the comparison is not of two untouched starts.
    assert.ok(one.result.coefficients.flat().some((c) => Math.abs(c - 1 / 3) > 1e-3));
  });

  it("splits rows that do not divide evenly, and refuses rows past the split on every rank", async () => {
    const engines = [
      await TorchEngine.start({ ...options, nproc: 1 }),
      await TorchEngine.start({ ...options, nproc: 2 }),
    ];
    try {
      const rows = { split: "learn" as const, indices: Int32Array.from([4, 9, 1]) };
      const answers = [];
      for (const engine of engines) {
        await engine.write(Float64Array.from([0.6, 0.3, 0.1]), { groupOf: engine.layerOf.map(() => 0), groups: 1 });
        answers.push({
          gradient: await engine.gradient(rows, LOGITS_OBJECTIVE),
          score: await engine.score({ split: "learn", indices: Int32Array.from([3]) }, LOGITS_OBJECTIVE),
        });
        await assert.rejects(
          engine.score({ split: "learn", indices: Int32Array.from([0, 96]) }, LOGITS_OBJECTIVE),
          /row index out of range for the learn split of 96 rows/,
        );
      }
      const [one, two] = answers as [(typeof answers)[0], (typeof answers)[0]];
      closeTo(two.gradient.loss, one.gradient.loss, 1e-6, "loss");
      one.gradient.gradAlpha.forEach((g, k) => closeTo(two.gradient.gradAlpha[k]!, g, 1e-6, `dL/dα${k}`));
      closeTo(two.score.loss, one.score.loss, 1e-6, "a one-row score (rank 0 has no rows)");
      assert.equal(two.score.metric, one.score.metric);
    } finally {
      await Promise.all(engines.map((e) => e.dispose()));
    }
  });

  it("ends with one line naming the rank when another rank dies", async () => {
    const engine = await TorchEngine.start({ ...options, nproc: 2 });
    try {
      const [follower] = engine.rankPids;
      process.kill(follower!, "SIGKILL");
      await engine.write(Float64Array.from([0.6, 0.3, 0.1]), { groupOf: engine.layerOf.map(() => 0), groups: 1 });
      await assert.rejects(
        engine.score({ split: "learn" }, LOGITS_OBJECTIVE),
        /^EngineError: The PyTorch engine's rank 1 \(pid \d+\) was killed \(SIGKILL/m,
      );
    } finally {
      await engine.dispose();
    }
  });
});
