import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { CancelledError } from "../../../src/core/errors.js";
import { evaluateSoups, taskFor } from "../../../src/worker/evaluate/evaluate.js";
import { greedySoup } from "../../../src/worker/evaluate/greedy.js";
import { mergeability } from "../../../src/worker/evaluate/mergeability.js";
import { applyMix, uniformMix } from "../../../src/worker/evaluate/soup.js";
import { readVariables } from "../../../src/worker/learn/merge.js";
import type { SoupData } from "../../../src/worker/learn/problem.js";
import {
  blobs,
  cancelAfterTurns,
  disposeData,
  fineTunes,
  mlp,
  problemOf,
  rowsOf,
  setWeights,
  train,
  weightsOf,
  type FineTunes,
} from "../learn/toy.js";
import type { Cancellation } from "../../../src/core/cancellation.js";

describe("worker/evaluate: held-out comparison, mergeability, greedy soup", function () {
  let all: SoupData;
  let learn: SoupData;
  let test: SoupData;
  let soup: FineTunes;
  let independent: Float32Array[][];
  let executor: tf.LayersModel;

  before(async () => {
    await tf.setBackend("cpu");
    all = blobs(900, 31);
    learn = rowsOf(all, 0, 600);
    test = rowsOf(all, 600, 900);
    soup = await fineTunes(learn, 3, { seed: 2, hidden: 16 });
    independent = [];
    for (const seed of [11, 12]) {
      const model = mlp({ seed, hidden: 16 });
      await train(model, learn, 30, 0.02);
      independent.push(weightsOf(model));
      model.dispose();
    }
    executor = mlp({ seed: 2, hidden: 16 });
  });
  after(() => {
    disposeData(all, learn, test);
    executor.dispose();
  });

  it("scores each ingredient, the uniform soup, given coefficients, and the ensemble of averaged probabilities", async () => {
    const problem = problemOf(executor, soup.ingredients);
    const merged = { coefficients: [[0], [1], [0]] }; // ingredient 2 alone, through the soup path
    const result = await evaluateSoups(problem, test, { uniform: { mix: uniformMix(3) }, merged: { mix: merged } });
    assert.equal(result.metricName, "accuracy");
    assert.equal(result.ingredients.length, 3);
    assert.deepEqual(result.merged, result.ingredients[1]);

    // The ensemble and ingredient scores, recomputed by hand with separate models.
    const probabilities = soup.ingredients.map((w) => {
      const m = mlp({ seed: 2, hidden: 16 });
      setWeights(m, w);
      const p = (m.predict(test.x) as tf.Tensor).arraySync() as number[][];
      m.dispose();
      return p;
    });
    const labels = test.y!.arraySync() as number[];
    const manual = (rows: number[][]) => ({
      loss:
        rows.reduce(
          (s, r, k) => s - Math.log(Math.min(Math.max(r[labels[k]!]! / r.reduce((a, b) => a + b, 0), 1e-7), 1 - 1e-7)),
          0,
        ) / rows.length,
      metric: rows.filter((r, k) => r.indexOf(Math.max(...r)) === labels[k]).length / rows.length,
    });
    probabilities.forEach((rows, i) => {
      const m = manual(rows);
      assert.ok(Math.abs(m.loss - result.ingredients[i]!.loss) < 1e-5);
      assert.ok(Math.abs(m.metric - result.ingredients[i]!.metric) < 1e-6);
    });
    const averaged = probabilities[0]!.map((r, k) =>
      r.map((_, c) => probabilities.reduce((s, p) => s + p[k]![c]!, 0) / 3),
    );
    const expected = manual(averaged);
    assert.ok(Math.abs(expected.loss - result.ensemble.loss) < 1e-5, `${expected.loss} vs ${result.ensemble.loss}`);
    assert.ok(Math.abs(expected.metric - result.ensemble.metric) < 1e-6);
  });

  it("uniform soup through applyMix equals the element-wise mean of the ingredients", async () => {
    const problem = problemOf(executor, soup.ingredients);
    await applyMix(problem, uniformMix(3));
    readVariables(problem).forEach((w, v) => {
      for (let j = 0; j < w.length; j++) {
        const mean =
          (problem.ingredients[0]![v]![j]! + problem.ingredients[1]![v]![j]! + problem.ingredients[2]![v]![j]!) / 3;
        assert.ok(Math.abs(w[j]! - mean) < 1e-6);
      }
    });
  });

  it("barrier is low for fine-tunes of one initialisation and high (with a warning) for independent networks", async () => {
    const task = taskFor(problemOf(executor, soup.ingredients), test, {});
    const shared = await mergeability(problemOf(executor, soup.ingredients), test, task);
    assert.equal(shared.pairs.length, 3);
    assert.deepEqual(shared.warnings, []);
    assert.ok(
      shared.pairs.every((p) => !p.high && p.cosine > 0.7),
      JSON.stringify(shared.pairs),
    );
    const apart = await mergeability(problemOf(executor, independent), test, task, { names: ["a.h5", "b.h5"] });
    const pair = apart.pairs[0]!;
    assert.ok(pair.high, JSON.stringify(pair));
    assert.ok(pair.barrier > Math.max(...shared.pairs.map((p) => p.barrier)));
    assert.ok(pair.cosine < shared.pairs[0]!.cosine);
    assert.equal(apart.warnings.length, 1);
    assert.match(
      apart.warnings[0]!,
      /a\.h5 and b\.h5 do not seem to share a basin.*different initialisations; weight averaging will likely fail/,
    );
  });

  it("greedy soup starts from the best ingredient and leaves out one that hurts", async () => {
    // Three fine-tunes plus an independently trained network, which cannot be averaged with them.
    const problem = problemOf(executor, [...soup.ingredients, independent[0]!]);
    const task = taskFor(problem, test, {});
    const result = await greedySoup(problem, test, task);
    const best = result.ranking[0]!;
    assert.equal(result.kept[0], best.ingredient);
    // Ranked and kept by the validation loss, not by accuracy.
    assert.ok(result.ranking.every((r) => r.score.loss >= best.score.loss));
    assert.ok(!result.kept.includes(3), `kept ${result.kept}`);
    assert.ok(result.validation.loss <= best.score.loss);
    let current = result.steps[0]!.score.loss;
    for (const step of result.steps.slice(1)) {
      assert.equal(step.kept, step.score.loss <= current, JSON.stringify(result.steps));
      if (step.kept) current = step.score.loss;
    }
    const sum = result.mix.coefficients.reduce((s, c) => s + c[0]!, 0);
    assert.ok(Math.abs(sum - 1) < 1e-12);
    assert.equal(result.steps.length, 4);
  });

  it("does not leak tensors", async () => {
    const problem = problemOf(executor, soup.ingredients);
    const before = tf.memory().numTensors;
    const task = taskFor(problem, test, {});
    await evaluateSoups(problem, test, { uniform: { mix: uniformMix(3) }, merged: { mix: uniformMix(3) } });
    await mergeability(problem, test, task);
    await greedySoup(problem, test, task);
    assert.equal(tf.memory().numTensors, before);
  });

  it("a cancel that can only arrive through the event loop stops evaluation, mergeability and greedy soup within a batch", async () => {
    const problem = problemOf(executor, soup.ingredients);
    const task = taskFor(problem, test, {});
    const before = tf.memory().numTensors;
    // 300 test rows in batches of 30: 10 batches per soup scored, 50 for the evaluation, 30 for the others.
    const batchSize = 30;
    const runs = {
      evaluateSoups: (cancel: Cancellation) =>
        evaluateSoups(problem, test, {
          uniform: { mix: uniformMix(3) },
          merged: { mix: uniformMix(3) },
          batchSize,
          cancel,
        }),
      mergeability: (cancel: Cancellation) => mergeability(problem, test, task, { batchSize, cancel }),
      greedySoup: (cancel: Cancellation) => greedySoup(problem, test, task, { batchSize, cancel }),
    };
    const turns = 4;
    for (const [name, run] of Object.entries(runs)) {
      let checks = 0;
      const cancel = cancelAfterTurns(turns);
      await assert.rejects(
        run({
          get isCancellationRequested() {
            checks++;
            return cancel.isCancellationRequested;
          },
        }),
        CancelledError,
        name,
      );
      // One check per batch, each after a turn of the loop: the run stopped at the first batch after the cancel.
      assert.ok(checks >= 2 && checks <= turns, `${name}: ${checks} batches checked over ${turns} turns`);
      assert.equal(tf.memory().numTensors, before, `${name}: tensors after the cancelled run`);
    }
  });
});
