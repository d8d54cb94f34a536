import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { CancelledError, UsageError } from "../../../src/core/errors.js";
import { coefficientSpace, coefficientsOf, initialTheta } from "../../../src/worker/learn/coefficients.js";
import { scoreModel } from "../../../src/worker/learn/gradient.js";
import { learnOnTfjs as learnCoefficients } from "../../../src/worker/engine/tfjs-learn.js";
import type { LearnProgress } from "../../../src/worker/learn/learn.js";
import { Merger } from "../../../src/worker/learn/merge.js";
import { resolveObjective } from "../../../src/worker/learn/objective.js";
import type { SoupData, SoupProblem } from "../../../src/worker/learn/problem.js";
import { mulberry32 } from "../../../src/core/random.js";
import { blobs, cancelAfterTurns, disposeData, fineTunes, mlp, problemOf, rowsOf, type FineTunes } from "./toy.js";

async function uniformValidationLoss(problem: SoupProblem, learn: SoupData, validation: SoupData): Promise<number> {
  const space = coefficientSpace(problem.layerOf, problem.ingredients.length, "model", "simplex");
  const merger = new Merger(problem, space);
  merger.write(coefficientsOf(space, initialTheta(space)));
  merger.dispose();
  return (await scoreModel(problem.model, resolveObjective(problem.model, "supervised", learn), validation, 1024)).loss;
}

describe("worker/learn/learn: learning soup coefficients on fine-tuned MLPs", function () {
  let all: SoupData;
  let learn: SoupData;
  let validation: SoupData;
  let soup: FineTunes;
  let executor: tf.LayersModel;

  before(async () => {
    await tf.setBackend("cpu");
    all = blobs(900, 21);
    learn = rowsOf(all, 0, 600);
    validation = rowsOf(all, 600, 900);
    soup = await fineTunes(learn, 4);
    executor = mlp({ seed: 1 });
  });
  after(() => {
    disposeData(all, learn, validation);
    executor.dispose();
  });

  for (const optimizer of ["adam", "lbfgs"] as const) {
    for (const granularity of ["model", "layer"] as const) {
      it(`${optimizer}, ${granularity} granularity: validation loss ≤ the uniform soup's, coefficients on the simplex`, async () => {
        const problem = problemOf(executor, soup.ingredients);
        const uniform = await uniformValidationLoss(problem, learn, validation);
        const result = await learnCoefficients(problem, learn, validation, {
          optimizer,
          granularity,
          maxSteps: optimizer === "adam" ? 60 : 20,
          refit: false,
        });
        assert.ok(result.validation!.loss <= uniform, `learned ${result.validation!.loss} vs uniform ${uniform}`);
        assert.equal(result.candidates.length, 5, "the uniform soup and each of the 4 ingredients");
        for (const c of result.candidates)
          assert.ok(result.validation!.loss <= c.loss, `kept ${result.validation!.loss} vs ${c.name} ${c.loss}`);
        assert.equal(result.kept, "learned", "on these fine-tunes a learned soup beats every candidate");
        assert.ok(result.bestStep > 0, "some step improved on the start");
        assert.equal(result.coefficients.length, 4);
        const groups = granularity === "model" ? 1 : 2;
        assert.equal(result.groups.length, groups);
        for (let g = 0; g < groups; g++) {
          const sum = result.coefficients.reduce((s, c) => s + c[g]!, 0);
          assert.ok(Math.abs(sum - 1) < 1e-9, `group ${g} sums to ${sum}`);
        }
        // The model's variables hold the kept soup.
        const now = await scoreModel(executor, resolveObjective(executor, "supervised", learn), validation, 1024);
        assert.ok(Math.abs(now.loss - result.validation!.loss) < 1e-6);
      });
    }
  }

  it("keeps the best candidate, with its exact coefficients, when the learned path does not beat it on validation", async () => {
    // One fine-tune and a far-off copy of it: ingredient 1 alone is better than any even mix.
    const random = mulberry32(9);
    const far = soup.ingredients[0]!.map((w) => w.map((v) => v + 2 * (random() - 0.5)));
    const problem = problemOf(executor, [soup.ingredients[0]!, far]);
    const result = await learnCoefficients(problem, learn, validation, {
      startAt: "uniform",
      learningRate: 1e-9,
      maxSteps: 5,
      evaluateEvery: 1,
    });
    assert.equal(result.start, "uniform soup");
    const single = result.candidates.find((c) => c.name === "ingredient 1")!;
    assert.ok(single.loss < result.candidates[0]!.loss, "ingredient 1 beats the uniform soup on validation");
    assert.equal(result.kept, "ingredient 1");
    assert.deepEqual(result.coefficients, [[1], [0]]);
    assert.equal(result.validation!.loss, single.loss);
    assert.equal(result.refit, undefined, "no refit when a candidate is kept");
    const now = await scoreModel(executor, resolveObjective(executor, "supervised", learn), validation, 1024);
    assert.ok(Math.abs(now.loss - single.loss) < 1e-6, "the model's variables hold ingredient 1");
    // From the best candidate (the default), the path starts there.
    const fromBest = await learnCoefficients(problem, learn, validation, { maxSteps: 20 });
    assert.equal(fromBest.start, "ingredient 1");
    assert.ok(fromBest.validation!.loss <= single.loss);
  });

  it("budget: stops at maxSteps or by patience in steps, evaluating every evaluateEvery steps", async () => {
    const problem = problemOf(executor, soup.ingredients);
    const evaluated: number[] = [];
    let last: number | undefined;
    const result = await learnCoefficients(problem, learn, validation, {
      batchSize: 600,
      maxSteps: 50,
      evaluateEvery: 5,
      patience: 15,
      refit: false,
      onProgress: (p) => {
        if (p.validationLoss !== undefined && p.validationLoss !== last) evaluated.push(p.step);
        last = p.validationLoss;
      },
    });
    assert.deepEqual(result.budget, {
      optimizer: "adam",
      maxSteps: 50,
      learningRate: 0.05,
      schedule: "cosine",
      batchSize: 600,
      evaluateEvery: 5,
      patience: 15,
    });
    assert.ok(
      evaluated.every((s) => s % 5 === 0),
      `evaluated at ${evaluated.join(",")}`,
    );
    // This seeded problem stops improving on validation at step 15: patience ends it 15 steps later.
    assert.equal(result.stoppedBy, "early-stopping");
    assert.ok(
      result.steps - result.bestStep >= 15 && result.steps < 50,
      `${result.steps} steps, best ${result.bestStep}`,
    );
    // Patience as long as the budget: the whole budget runs.
    const full = await learnCoefficients(problem, learn, validation, {
      batchSize: 600,
      maxSteps: 20,
      evaluateEvery: 5,
      patience: 20,
      refit: false,
    });
    assert.deepEqual([full.stoppedBy, full.steps], ["budget", 20]);
    await assert.rejects(
      learnCoefficients(problem, learn, validation, { maxSteps: 0 }),
      /step budget \(--steps\) must be a whole number/,
    );
  });

  it("an empty validation split is no validation split: no candidates, the whole budget, the last step kept", async () => {
    const problem = problemOf(executor, soup.ingredients);
    const empty = rowsOf(all, 0, 0);
    const result = await learnCoefficients(problem, learn, empty, { maxSteps: 12 });
    assert.deepEqual(result.candidates, []);
    assert.equal(result.start, "uniform soup");
    assert.equal(result.kept, "learned");
    assert.equal(result.validation, undefined);
    assert.deepEqual([result.steps, result.bestStep, result.stoppedBy], [12, 12, "budget"]);
    assert.equal(result.refit, undefined);
    disposeData(empty);
  });

  it("reports progress every step and honours cancellation within one step", async () => {
    const problem = problemOf(executor, soup.ingredients);
    const seen: LearnProgress[] = [];
    const token = { isCancellationRequested: false };
    await assert.rejects(
      learnCoefficients(problem, learn, validation, {
        optimizer: "adam",
        batchSize: 64,
        onProgress: (p) => {
          seen.push(p);
          if (p.step === 3) token.isCancellationRequested = true;
        },
        cancel: token,
      }),
      CancelledError,
    );
    assert.deepEqual(
      seen.map((p) => p.step),
      [1, 2, 3],
    );
    assert.ok(seen.every((p) => p.coefficients.length === 4 && Number.isFinite(p.trainLoss)));
  });

  it("honours a cancellation token inside an L-BFGS full-batch pass", async () => {
    const problem = problemOf(executor, soup.ingredients);
    const token = { isCancellationRequested: false };
    let steps = 0;
    await assert.rejects(
      learnCoefficients(problem, learn, validation, {
        optimizer: "lbfgs",
        batchSize: 100,
        onProgress: () => {
          steps++;
          token.isCancellationRequested = true;
        },
        cancel: token,
      }),
      CancelledError,
    );
    assert.equal(steps, 1);
  });

  for (const optimizer of ["adam", "lbfgs"] as const) {
    it(`${optimizer}: a cancel that can only arrive through the event loop (as a $/cancelRequest does) stops the run within a step`, async () => {
      const problem = problemOf(executor, soup.ingredients);
      const before = tf.memory().numTensors;
      const steps: number[] = [];
      // What other callbacks see between the loop's turns: progress delivered live, not at the end.
      const stepsSeenByOthers: number[] = [];
      // 6 turns score the 5 candidates and the start on validation (one batch each), then each step takes one.
      const turns = 12;
      const cancel = cancelAfterTurns(turns, () => stepsSeenByOthers.push(steps.length));
      await assert.rejects(
        learnCoefficients(problem, learn, validation, {
          optimizer,
          batchSize: 32,
          maxSteps: 400,
          patience: 1000,
          onProgress: (p) => steps.push(p.step),
          cancel,
        }),
        CancelledError,
      );
      // Every step and every evaluation batch yields once, so the run got at most one step per turn.
      assert.ok(steps.length >= 1 && steps.length < turns, `steps before the cancel: ${steps.join(",")}`);
      assert.ok(
        new Set(stepsSeenByOthers).size >= 2,
        `steps seen from other callbacks: ${stepsSeenByOthers.join(",")}`,
      );
      assert.equal(tf.memory().numTensors, before, "tensors after the cancelled run");
    });
  }

  it("does not leak tensors: the count is the same at every step and after the run", async () => {
    const problem = problemOf(executor, soup.ingredients);
    const before = tf.memory().numTensors;
    for (const optimizer of ["adam", "lbfgs"] as const) {
      const counts: number[] = [];
      await learnCoefficients(problem, learn, validation, {
        optimizer,
        granularity: "layer",
        maxSteps: optimizer === "adam" ? 30 : 5,
        evaluateEvery: 3,
        patience: 100,
        onProgress: () => counts.push(tf.memory().numTensors),
      });
      assert.ok(counts.length >= 3);
      assert.ok(
        counts.every((c) => c === counts[0]),
        `${optimizer}: tensors per step ${counts.join(",")}`,
      );
      assert.equal(tf.memory().numTensors, before, `${optimizer}: tensors after the run`);
    }
  });

  it("nonneg (Adam, projected) keeps coefficients ≥ 0; free may extrapolate; L-BFGS refuses nonneg", async () => {
    const problem = problemOf(executor, soup.ingredients);
    const nonneg = await learnCoefficients(problem, learn, validation, { parameterisation: "nonneg", maxSteps: 30 });
    assert.equal(nonneg.optimizer, "adam", "Adam is the default");
    assert.ok(nonneg.coefficients.flat().every((c) => c >= 0));
    const free = await learnCoefficients(problem, learn, validation, { parameterisation: "free", optimizer: "lbfgs" });
    assert.ok(free.validation!.loss <= (await uniformValidationLoss(problem, learn, validation)));
    await assert.rejects(
      learnCoefficients(problem, learn, validation, { parameterisation: "nonneg", optimizer: "lbfgs" }),
      UsageError,
    );
  });

  it("task-vector form: the learned λ are never worse on validation than the uniform soup", async () => {
    const problem = problemOf(executor, soup.ingredients, soup.base);
    const uniform = await uniformValidationLoss(problemOf(executor, soup.ingredients), learn, validation);
    const result = await learnCoefficients(problem, learn, validation, {
      parameterisation: "free",
      granularity: "layer",
    });
    assert.ok(result.validation!.loss <= uniform + 1e-6);
  });

  it("entropy objective learns without labels and lowers the validation entropy", async () => {
    const problem = problemOf(executor, soup.ingredients);
    const unlabeled = { x: learn.x };
    const result = await learnCoefficients(
      problem,
      unlabeled,
      { x: validation.x },
      { objective: "entropy", granularity: "layer" },
    );
    assert.equal(result.objective, "entropy");
    assert.equal(result.validation!.metric, undefined);
    const space = coefficientSpace(problem.layerOf, 4, "layer", "simplex");
    const merger = new Merger(problem, space);
    merger.write(coefficientsOf(space, initialTheta(space)));
    merger.dispose();
    const start = await scoreModel(
      executor,
      resolveObjective(executor, "entropy", unlabeled),
      { x: validation.x },
      1024,
    );
    assert.ok(result.validation!.loss < start.loss, `${result.validation!.loss} vs ${start.loss}`);
  });

  it("re-estimates BatchNormalization statistics when asked, or by default when that lowers the validation loss", async () => {
    const bnSoup = await fineTunes(learn, 3, { batchNorm: true, seed: 4 });
    const bnExecutor = mlp({ seed: 4, batchNorm: true });
    const result = await learnCoefficients(problemOf(bnExecutor, bnSoup.ingredients), learn, validation, {
      maxSteps: 20,
    });
    // Re-estimated only when that lowered the validation loss, and then the kept soup's statistics come with it.
    assert.equal(result.batchNormStatistics !== undefined, result.batchNormReestimated.length > 0);
    const always = await learnCoefficients(problemOf(bnExecutor, bnSoup.ingredients), learn, validation, {
      maxSteps: 20,
      reestimateBatchNorm: true,
    });
    if (always.kept !== "ingredient 1" && always.kept !== "ingredient 2" && always.kept !== "ingredient 3")
      assert.deepEqual(always.batchNormReestimated, ["norm"]);
    const off = await learnCoefficients(problemOf(bnExecutor, bnSoup.ingredients), learn, validation, {
      maxSteps: 20,
      reestimateBatchNorm: false,
    });
    assert.deepEqual(off.batchNormReestimated, []);
    bnExecutor.dispose();
  });

  it("runs on the wasm backend too (its kernels read the shape recorded with each buffer)", async () => {
    const { selectBackend } = await import("../../../src/worker/backend.js");
    await selectBackend("wasm");
    try {
      // relu: the Dense layer then takes the fused matMul kernel, which checks its bias buffer's rank.
      const wasmExecutor = mlp({ seed: 1, activation: "relu" });
      const problem = problemOf(wasmExecutor, soup.ingredients);
      const result = await learnCoefficients(problem, learn, validation, { optimizer: "lbfgs", maxSteps: 3 });
      assert.ok(Number.isFinite(result.validation!.loss));
      wasmExecutor.dispose();
    } finally {
      await tf.setBackend("cpu");
    }
  });

  it("refuses the supervised objective without labels", async () => {
    await assert.rejects(
      learnCoefficients(problemOf(executor, soup.ingredients), { x: learn.x }, undefined),
      UsageError,
    );
  });
});
