// What the learner asks of its engine, counted: a step is one mini-batch, and passes over a whole split happen a
// bounded number of times (the candidates, the start unless it is one of them, one validation check every
// ⌈validation rows / batch⌉ steps), so a run costs O(rows + steps × batch) whatever the data size. Learning on
// 2,000,000 rows once took longer than 15 minutes for 20 steps (BENCHMARKS.md, "Scale: loading and learning on 2
// million rows").
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { TfjsEngine } from "../../../src/worker/engine/tfjs-engine.js";
import type {
  BatchNormState,
  CoefficientLayout,
  EngineScore,
  RowSelection,
  SoupEngine,
  SplitName,
} from "../../../src/worker/engine/soup-engine.js";
import { learnCoefficients, type LearnOptions, type LearnResult } from "../../../src/worker/learn/learn.js";
import { resolveObjective, type Objective } from "../../../src/worker/learn/objective.js";
import type { SoupData } from "../../../src/worker/learn/problem.js";
import { blobs, disposeData, fineTunes, mlp, problemOf, rowsOf } from "./toy.js";

type Call = { readonly kind: "gradient" | "score" | "predict" | "reestimate"; readonly rows: RowSelection };

/** A real engine whose every request for rows is recorded before it is answered. */
class CountingEngine implements SoupEngine {
  readonly calls: Call[] = [];
  constructor(private readonly inner: TfjsEngine) {}
  get kind() {
    return this.inner.kind;
  }
  get description() {
    return this.inner.description;
  }
  get ingredients() {
    return this.inner.ingredients;
  }
  get layerOf() {
    return this.inner.layerOf;
  }
  get batchNormLayers() {
    return this.inner.batchNormLayers;
  }
  rows(split: SplitName): number {
    return this.inner.rows(split);
  }
  write(alpha: Float64Array, layout: CoefficientLayout): Promise<void> {
    return this.inner.write(alpha, layout);
  }
  gradient(rows: RowSelection, objective: Objective) {
    this.calls.push({ kind: "gradient", rows });
    return this.inner.gradient(rows, objective);
  }
  score(rows: RowSelection, objective: Objective): Promise<EngineScore> {
    this.calls.push({ kind: "score", rows });
    return this.inner.score(rows, objective);
  }
  predict(rows: RowSelection) {
    this.calls.push({ kind: "predict", rows });
    return this.inner.predict(rows);
  }
  reestimateBatchNorm(rows: RowSelection): Promise<void> {
    this.calls.push({ kind: "reestimate", rows });
    return this.inner.reestimateBatchNorm(rows);
  }
  readBatchNorm(): Promise<BatchNormState> {
    return this.inner.readBatchNorm();
  }
  writeBatchNorm(state: BatchNormState): Promise<void> {
    return this.inner.writeBatchNorm(state);
  }
  readMerged(): Promise<Float32Array[]> {
    return this.inner.readMerged();
  }
  dispose(): Promise<void> {
    return this.inner.dispose();
  }

  /** Rows a call reads. */
  rowsOf(call: Call): number {
    return call.rows.indices?.length ?? this.inner.rows(call.rows.split);
  }
  wholePasses(kind: Call["kind"], split: SplitName): number {
    return this.calls.filter((c) => c.kind === kind && c.rows.split === split && c.rows.indices === undefined).length;
  }
}

describe("worker/learn/learn: rows read per step (a mini-batch) and whole-split passes (bounded)", function () {
  const ingredients = 4;
  const candidates = 1 + ingredients; // the uniform soup and each ingredient
  const batchSize = 32;
  const maxSteps = 100;
  let learn: SoupData;
  let validation: SoupData;
  let all: SoupData;

  before(async () => {
    await tf.setBackend("cpu");
    all = blobs(3200, 5);
    learn = rowsOf(all, 0, 2400);
    validation = rowsOf(all, 2400, 3200);
  });
  after(() => disposeData(all, learn, validation));

  async function run(
    batchNorm: boolean,
    options: LearnOptions = {},
  ): Promise<{ engine: CountingEngine; result: LearnResult }> {
    const soup = await fineTunes(learn, ingredients, { batchNorm, seed: 3 });
    const executor = mlp({ seed: 3, batchNorm });
    const problem = problemOf(executor, soup.ingredients);
    const engine = new CountingEngine(new TfjsEngine(problem, { learn, validation }, { batchSize: 1024 }));
    try {
      const objective = resolveObjective(problem.model, "supervised", learn);
      // No early stop (patience = the budget) and no refit: every run takes the whole budget on the learn split.
      const result = await learnCoefficients(engine, objective, {
        batchSize,
        maxSteps,
        patience: maxSteps,
        refit: false,
        ...options,
      });
      return { engine, result };
    } finally {
      await engine.dispose();
      executor.dispose();
    }
  }

  it("every step reads one mini-batch; validation is read whole once per candidate, at the start (unless a candidate), and every ⌈rows / batch⌉ steps", async () => {
    const { engine, result } = await run(false);
    const V = 800;
    assert.equal(result.steps, maxSteps);
    assert.equal(
      result.budget.evaluateEvery,
      Math.ceil(V / batchSize),
      "validation checked every ⌈800 / 32⌉ = 25 steps",
    );
    const gradients = engine.calls.filter((c) => c.kind === "gradient");
    assert.equal(gradients.length, maxSteps);
    for (const g of gradients) {
      assert.equal(g.rows.split, "learn");
      assert.ok(g.rows.indices !== undefined && g.rows.indices.length <= batchSize, "a step reads a mini-batch");
    }
    assert.equal(engine.wholePasses("score", "learn"), 0, "the learn split is never scored whole");
    assert.equal(engine.calls.filter((c) => c.kind === "predict" || c.kind === "reestimate").length, 0);
    const evaluations = Math.ceil(maxSteps / result.budget.evaluateEvery);
    // The start here is the uniform soup, a candidate already scored: not scored again.
    assert.equal(result.start, "uniform soup");
    assert.equal(engine.wholePasses("score", "validation"), candidates + evaluations);
    // Rows read in all: the fixed passes plus at most one batch of validation per step, on top of the step's own.
    const validationRows = engine.calls
      .filter((c) => c.rows.split === "validation")
      .reduce((sum, c) => sum + engine.rowsOf(c), 0);
    assert.ok(
      validationRows <= (candidates + 2) * V + maxSteps * batchSize,
      `${validationRows} validation rows read in ${maxSteps} steps`,
    );
  });

  it("with BatchNormalization: re-estimations read the learn split whole a bounded number of times, never per step", async () => {
    const { engine, result } = await run(true);
    assert.equal(result.steps, maxSteps);
    const evaluations = Math.ceil(maxSteps / result.budget.evaluateEvery);
    // Each soup scored but a single ingredient (the uniform soup, which is the start here, and every check)
    // re-estimates once, and the kept soup at most once more at the end.
    assert.equal(result.start, "uniform soup");
    const soupsScored = 1 + evaluations;
    assert.ok(
      engine.wholePasses("reestimate", "learn") <= soupsScored + 1,
      `${engine.wholePasses("reestimate", "learn")} re-estimations`,
    );
    // A single ingredient is scored as it is; every other soup twice (averaged and re-estimated statistics).
    assert.equal(engine.wholePasses("score", "validation"), ingredients + 2 * soupsScored);
    for (const g of engine.calls.filter((c) => c.kind === "gradient"))
      assert.ok(g.rows.indices !== undefined && g.rows.indices.length <= batchSize);
  });

  for (const batchNorm of [false, true]) {
    it(`a start that is a candidate already scored (the uniform soup) is not scored again, and learns what scoring it again learns${batchNorm ? " (BatchNormalization chosen per soup)" : ""}`, async () => {
      const shared = await run(batchNorm, { startAt: "uniform" });
      const again = await run(batchNorm, { startAt: "uniform", compareCandidates: false });
      const evaluations = Math.ceil(maxSteps / shared.result.budget.evaluateEvery);
      // A soup with BatchNormalization is scored twice per check (averaged and re-estimated statistics); a single
      // ingredient once, as it is.
      const passes = (soups: number) => (batchNorm ? 2 * soups : soups);
      assert.equal(shared.result.start, "uniform soup");
      assert.equal(
        shared.engine.wholePasses("score", "validation"),
        ingredients + passes(1 + evaluations),
        "the candidates, then one check per evaluation: the start's score is the uniform soup's",
      );
      assert.equal(
        again.engine.wholePasses("score", "validation"),
        passes(1 + evaluations),
        "no candidates: the start is scored",
      );
      assert.equal(shared.result.bestStep, again.result.bestStep);
      assert.equal(shared.result.kept, "learned", "the learned path beats every candidate here");
      assert.deepEqual(shared.result.coefficients, again.result.coefficients);
      assert.deepEqual(shared.result.validation, again.result.validation);
      assert.deepEqual(shared.result.batchNormReestimated, again.result.batchNormReestimated);
    });
  }
});
