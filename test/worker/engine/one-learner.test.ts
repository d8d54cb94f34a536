import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { mulberry32 } from "../../../src/core/random.js";
import { TfjsEngine } from "../../../src/worker/engine/tfjs-engine.js";
import type { CoefficientLayout, RowSelection, SoupEngine } from "../../../src/worker/engine/soup-engine.js";
import { shuffledIndices } from "../../../src/worker/learn/batches.js";
import { coefficientSpace } from "../../../src/worker/learn/coefficients.js";
import { learnCoefficients } from "../../../src/worker/learn/learn.js";
import { resolveObjective, type Objective } from "../../../src/worker/learn/objective.js";
import type { SoupData, SoupProblem } from "../../../src/worker/learn/problem.js";
import { blobs, disposeData, mlp, problemOf, rowsOf, setWeights, weightsOf } from "../learn/toy.js";

/** Ingredients = one random model's weights plus seeded perturbations (distinct, smooth in α). */
function perturbed(base: Float32Array[], count: number, seed: number): Float32Array[][] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, () => base.map((w) => w.map((v) => v + 0.4 * (random() - 0.5))));
}

/** W_v = base_v + Σ_i α[i·G + g(v)] (W_{i,v} − base_v), by hand, in problem variable order. */
function mergedByHand(problem: SoupProblem, alpha: Float64Array, layout: CoefficientLayout): Float32Array[] {
  return problem.variables.map((_, v) => {
    const size = problem.ingredients[0]![v]!.length;
    const out = new Float32Array(size);
    for (let j = 0; j < size; j++) {
      const b = problem.base?.[v]?.[j] ?? 0;
      let w = b;
      problem.ingredients.forEach(
        (ing, i) => (w += alpha[i * layout.groups + layout.groupOf[v]!]! * (ing[v]![j]! - b)),
      );
      out[j] = w;
    }
    return out;
  });
}

/** A fresh model of the same architecture holding these values (problem variable order): no engine involved. */
function plainModel(problem: SoupProblem, values: Float32Array[], options: { seed: number; batchNorm?: boolean }) {
  const model = mlp(options);
  const order = problem.variables.map((v) => problem.model.weights.indexOf(v));
  const byWeight: Float32Array[] = new Array(values.length);
  order.forEach((k, v) => (byWeight[k] = values[v]!));
  setWeights(model, byWeight);
  return model;
}

/** Mean −log p(y) and accuracy of softmax rows against class indices, in plain JavaScript. */
function crossEntropyByHand(probabilities: Float32Array, classes: number, labels: Float32Array) {
  let loss = 0;
  let correct = 0;
  for (let r = 0; r < labels.length; r++) {
    const row = probabilities.subarray(r * classes, (r + 1) * classes);
    const p = Math.min(1 - 1e-7, Math.max(1e-7, row[labels[r]!]!));
    loss -= Math.log(p);
    if (row.indexOf(Math.max(...row)) === labels[r]) correct++;
  }
  return { loss: loss / labels.length, metric: correct / labels.length };
}

function pick(values: Float32Array, rowSize: number, indices: Int32Array): Float32Array {
  const out = new Float32Array(indices.length * rowSize);
  indices.forEach((i, r) => out.set(values.subarray(i * rowSize, (i + 1) * rowSize), r * rowSize));
  return out;
}

/** A real engine whose calls are recorded (what the learner asked for, in order). */
class RecordingEngine implements SoupEngine {
  readonly calls: Array<{ method: string; rows?: RowSelection }> = [];
  constructor(private readonly inner: SoupEngine) {}
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
  rows(split: RowSelection["split"]) {
    return this.inner.rows(split);
  }
  write(alpha: Float64Array, layout: CoefficientLayout) {
    this.calls.push({ method: "write" });
    return this.inner.write(alpha, layout);
  }
  gradient(rows: RowSelection, objective: Objective) {
    this.calls.push({ method: "gradient", rows: { split: rows.split, indices: rows.indices?.slice() } });
    return this.inner.gradient(rows, objective);
  }
  score(rows: RowSelection, objective: Objective) {
    this.calls.push({ method: "score", rows });
    return this.inner.score(rows, objective);
  }
  predict(rows: RowSelection) {
    return this.inner.predict(rows);
  }
  reestimateBatchNorm(rows: RowSelection) {
    this.calls.push({ method: "reestimateBatchNorm", rows });
    return this.inner.reestimateBatchNorm(rows);
  }
  readBatchNorm() {
    return this.inner.readBatchNorm();
  }
  writeBatchNorm(state: Parameters<SoupEngine["writeBatchNorm"]>[0]) {
    this.calls.push({ method: "writeBatchNorm" });
    return this.inner.writeBatchNorm(state);
  }
  readMerged() {
    return this.inner.readMerged();
  }
  dispose() {
    return this.inner.dispose();
  }
}

describe("worker/engine: the one learner through TfjsEngine", function () {
  this.timeout(120_000);
  let all: SoupData;
  let learn: SoupData;
  let validation: SoupData;
  let executor: tf.LayersModel;
  let bnExecutor: tf.LayersModel;
  let problem: SoupProblem;
  let bnProblem: SoupProblem;

  before(async () => {
    await tf.setBackend("cpu");
    all = blobs(300, 11);
    learn = rowsOf(all, 0, 200);
    validation = rowsOf(all, 200, 300);
    executor = mlp({ seed: 1 });
    bnExecutor = mlp({ seed: 2, batchNorm: true });
    problem = problemOf(executor, perturbed(weightsOf(mlp({ seed: 3 })), 3, 5));
    // BatchNormalization statistics perturbed too (variance kept positive), so the merge changes them.
    const bnBase = weightsOf(mlp({ seed: 4, batchNorm: true }));
    bnProblem = problemOf(
      bnExecutor,
      perturbed(bnBase, 3, 6).map((ing) => ing.map((w) => w.map((v) => Math.abs(v) + 0.1))),
    );
  });
  after(() => {
    disposeData(all, learn, validation);
    executor.dispose();
    bnExecutor.dispose();
  });

  const layerLayout = (p: SoupProblem): CoefficientLayout => {
    const space = coefficientSpace(p.layerOf, p.ingredients.length, "layer", "free");
    return { groupOf: space.groupOf, groups: space.groups.length };
  };
  const alphaFor = (layout: CoefficientLayout, n: number, seed: number) => {
    const random = mulberry32(seed);
    return Float64Array.from({ length: n * layout.groups }, () => 0.1 + 0.5 * random());
  };

  for (const withBase of [false, true]) {
    it(`write(α, layer layout) leaves Σ α W${withBase ? " in the task-vector form" : ""} in the model (by hand)`, async () => {
      // (The MLP's variables are in model.weights order already, so a base in that order fits.)
      const base = weightsOf(mlp({ seed: 3 })).map((w, k) => w.map((v) => v * 0.5 + k * 0.01));
      const p = withBase ? { ...problem, base } : problem;
      const engine = new TfjsEngine(p, { learn, validation });
      try {
        const layout = layerLayout(p);
        const alpha = alphaFor(layout, 3, 9);
        await engine.write(alpha, layout);
        const expected = mergedByHand(p, alpha, layout);
        (await engine.readMerged()).forEach((values, v) =>
          values.forEach((x, j) => assert.ok(Math.abs(x - expected[v]![j]!) < 1e-5, `variable ${v}[${j}]`)),
        );
      } finally {
        await engine.dispose();
      }
    });
  }

  it("score and predict on chosen rows equal a plain TF.js forward pass of the merged weights, scored by hand", async () => {
    const engine = new TfjsEngine(problem, { learn, validation }, { batchSize: 16 });
    const plain = (() => {
      const layout = layerLayout(problem);
      return { layout, alpha: alphaFor(layout, 3, 12) };
    })();
    const reference = plainModel(problem, mergedByHand(problem, plain.alpha, plain.layout), { seed: 1 });
    try {
      await engine.write(plain.alpha, plain.layout);
      const indices = Int32Array.from([5, 99, 0, 42, 42, 17, 63, 80, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
      const objective = resolveObjective(executor, "supervised", learn);
      const x = tf.gather(validation.x, tf.tensor1d(indices, "int32"));
      const probabilities = (reference.predict(x) as tf.Tensor).dataSync() as Float32Array;
      const labels = pick(validation.y!.dataSync() as Float32Array, 1, indices);
      const byHand = crossEntropyByHand(probabilities, 3, labels);
      const score = await engine.score({ split: "validation", indices }, objective);
      assert.ok(Math.abs(score.loss - byHand.loss) < 1e-5, `${score.loss} vs ${byHand.loss}`);
      assert.ok(Math.abs(score.metric! - byHand.metric) < 1e-9, `${score.metric} vs ${byHand.metric}`);
      const predicted = await engine.predict({ split: "validation", indices });
      assert.deepEqual(predicted.shape, [indices.length, 3]);
      predicted.values.forEach((v, k) => assert.ok(Math.abs(v - probabilities[k]!) < 1e-6));
      // learn+validation is learn's rows, then validation's.
      const both = await engine.score({ split: "learn+validation", indices: Int32Array.from([199, 200]) }, objective);
      const a = await engine.score({ split: "learn", indices: Int32Array.from([199]) }, objective);
      const b = await engine.score({ split: "validation", indices: Int32Array.from([0]) }, objective);
      assert.ok(Math.abs(both.loss - (a.loss + b.loss) / 2) < 1e-6);
      assert.equal(engine.rows("learn+validation"), 300);
      await assert.rejects(engine.score({ split: "test" }, objective), /no test split/);
      x.dispose();
    } finally {
      reference.dispose();
      await engine.dispose();
    }
  });

  for (const which of ["plain", "batchnorm"] as const) {
    it(`${which}: gradient(rows) ∂/∂α against central finite differences of the loss (layer layout)`, async () => {
      const p = which === "plain" ? problem : bnProblem;
      // Chunks of 16 rows: the gradient over 40 chosen rows sums three forward+backward passes.
      const engine = new TfjsEngine(p, { learn, validation }, { batchSize: 16 });
      try {
        const layout = layerLayout(p);
        const alpha = alphaFor(layout, 3, 21);
        const rows: RowSelection = { split: "learn", indices: shuffledIndices(200, mulberry32(2)).subarray(0, 40) };
        const objective = resolveObjective(p.model, "supervised", learn);
        await engine.write(alpha, layout);
        const { loss, gradAlpha } = await engine.gradient(rows, objective);
        assert.ok(Math.abs(loss - (await engine.score(rows, objective)).loss) < 1e-5);
        const eps = 5e-3;
        const numeric = new Float64Array(alpha.length);
        for (let k = 0; k < alpha.length; k++) {
          const at = async (d: number) => {
            const moved = Float64Array.from(alpha);
            moved[k] += d;
            await engine.write(moved, layout);
            return (await engine.score(rows, objective)).loss;
          };
          numeric[k] = ((await at(eps)) - (await at(-eps))) / (2 * eps);
        }
        const scale = Math.max(...numeric.map(Math.abs));
        assert.ok(scale > 1e-3, `the finite-difference gradient is not trivially zero (${scale})`);
        gradAlpha.forEach((g, k) =>
          assert.ok(Math.abs(g - numeric[k]!) <= 1e-2 * scale, `α[${k}]: ${g} vs finite differences ${numeric[k]}`),
        );
      } finally {
        await engine.dispose();
      }
    });
  }

  it("reestimateBatchNorm(rows) sets each layer's statistics to the exact moments of its input on those rows", async () => {
    const engine = new TfjsEngine(bnProblem, { learn, validation }, { batchSize: 7 });
    try {
      const layout = layerLayout(bnProblem);
      await engine.write(alphaFor(layout, 3, 4), layout);
      const averaged = await engine.readBatchNorm();
      const indices = Int32Array.from({ length: 50 }, (_, k) => (k * 3) % 200);
      await engine.reestimateBatchNorm({ split: "learn", indices });
      const state = await engine.readBatchNorm();
      assert.deepEqual(state.layers, ["norm"]);
      // The input of "norm" is the hidden layer's output, computed here from the merged weights by hand.
      const merged = await engine.readMerged();
      const kernel = merged[0]!;
      const bias = merged[1]!;
      const x = pick(learn.x.dataSync() as Float32Array, 4, indices);
      const units = bias.length;
      const mean = new Float64Array(units);
      const square = new Float64Array(units);
      for (let r = 0; r < indices.length; r++) {
        for (let u = 0; u < units; u++) {
          let s = bias[u]!;
          for (let f = 0; f < 4; f++) s += x[r * 4 + f]! * kernel[f * units + u]!;
          const h = Math.tanh(s);
          mean[u] += h / indices.length;
          square[u] += (h * h) / indices.length;
        }
      }
      state.values[0]!.forEach((m, u) => assert.ok(Math.abs(m - mean[u]!) < 1e-5, `mean[${u}]`));
      state.values[1]!.forEach((v, u) =>
        assert.ok(Math.abs(v - (square[u]! - mean[u]! ** 2)) < 1e-5, `variance[${u}]`),
      );
      await engine.writeBatchNorm(averaged);
      const back = await engine.readBatchNorm();
      back.values.forEach((v, k) => assert.deepEqual(Array.from(v), Array.from(averaged.values[k]!)));
    } finally {
      await engine.dispose();
    }
  });

  it("the learner asks the engine for seeded mini-batches of row indices, refits on learn+validation, leaves the kept soup written", async () => {
    const inner = new TfjsEngine(problem, { learn, validation }, { batchSize: 1024 });
    const engine = new RecordingEngine(inner);
    try {
      const objective = resolveObjective(executor, "supervised", learn);
      const seed = 5;
      const batchSize = 32;
      const result = await learnCoefficients(engine, objective, {
        granularity: "layer",
        maxSteps: 14,
        evaluateEvery: 1,
        patience: 100,
        batchSize,
        seed,
        refit: true,
        compareCandidates: false,
      });
      const batches = engine.calls.filter((c) => c.method === "gradient").map((c) => c.rows!);
      // The learned path: epochs of one seeded permutation of learn's 200 rows each, in consecutive batches.
      const random = mulberry32(seed);
      const expected: Int32Array[] = [];
      while (expected.length < result.steps) {
        const order = shuffledIndices(200, random);
        for (let s = 0; s < 200 && expected.length < result.steps; s += batchSize)
          expected.push(order.subarray(s, Math.min(200, s + batchSize)));
      }
      const path = batches.slice(0, result.steps);
      assert.ok(path.every((b) => b.split === "learn"));
      assert.deepEqual(
        path.map((b) => Array.from(b.indices!)),
        expected.map((b) => Array.from(b)),
      );
      // The refit: as many steps as validation chose, over permutations of learn+validation's 300 rows.
      assert.equal(result.kept, "learned");
      assert.ok(result.bestStep > 0, `bestStep ${result.bestStep}`);
      assert.deepEqual(result.refit, { rows: 300, steps: result.bestStep });
      const refit = batches.slice(result.steps);
      assert.equal(refit.length, result.bestStep);
      const again = shuffledIndices(300, mulberry32(seed));
      assert.deepEqual(Array.from(refit[0]!.indices!), Array.from(again.subarray(0, batchSize)));
      assert.ok(refit.every((b) => b.split === "learn+validation"));
      // Validation is always scored whole, never learned on.
      assert.ok(engine.calls.filter((c) => c.method === "score").every((c) => c.rows!.split === "validation"));
      // The kept soup is what the engine holds: Σ α W with the result's coefficients.
      const space = coefficientSpace(problem.layerOf, 3, "layer", "simplex");
      const alpha = Float64Array.from(result.coefficients.flat());
      const byHand = mergedByHand(problem, alpha, { groupOf: space.groupOf, groups: space.groups.length });
      (await engine.readMerged()).forEach((values, v) =>
        values.forEach((x, j) => assert.ok(Math.abs(x - byHand[v]![j]!) < 1e-5)),
      );
    } finally {
      await engine.dispose();
    }
  });

  it("L-BFGS passes over a fixed seeded subset (sorted row indices) when learn is larger than the limit", async () => {
    const engine = new RecordingEngine(new TfjsEngine(problem, { learn, validation }));
    try {
      const objective = resolveObjective(executor, "supervised", learn);
      const result = await learnCoefficients(engine, objective, {
        optimizer: "lbfgs",
        parameterisation: "free",
        maxSteps: 3,
        fullBatchLimit: 64,
        seed: 8,
      });
      assert.ok(result.steps > 0);
      const subset = Array.from(Int32Array.from(shuffledIndices(200, mulberry32(8)).subarray(0, 64)).sort());
      const passes = engine.calls.filter((c) => c.method === "gradient");
      assert.ok(passes.length >= result.steps);
      for (const pass of passes) assert.deepEqual(Array.from(pass.rows!.indices!), subset);
    } finally {
      await engine.dispose();
    }
  });

  it("a kept soup's re-estimated statistics are those of the learn split, as the engine holds them (BatchNorm, always)", async () => {
    const engine = new RecordingEngine(new TfjsEngine(bnProblem, { learn, validation }));
    try {
      const objective = resolveObjective(bnExecutor, "supervised", learn);
      const result = await learnCoefficients(engine, objective, {
        maxSteps: 6,
        reestimateBatchNorm: true,
        compareCandidates: false,
        refit: false,
      });
      assert.deepEqual(result.batchNormReestimated, ["norm"]);
      const held = await engine.readBatchNorm();
      assert.deepEqual(
        held.values.map((v) => Array.from(v)),
        result.batchNormStatistics!.values.map((v) => Array.from(v)),
      );
      // Re-estimating again on learn gives the same statistics: they are the learn split's.
      await engine.reestimateBatchNorm({ split: "learn" });
      const again = await engine.readBatchNorm();
      again.values.forEach((v, k) => v.forEach((x, j) => assert.ok(Math.abs(x - held.values[k]![j]!) < 1e-6)));
      assert.ok(engine.calls.filter((c) => c.method === "reestimateBatchNorm").every((c) => c.rows!.split === "learn"));
      // And the validation score reported is the kept soup's as the engine holds it, statistics included.
      await engine.writeBatchNorm(held);
      const now = await engine.score({ split: "validation" }, objective);
      assert.ok(Math.abs(result.validation!.loss - now.loss) < 1e-9, `${result.validation!.loss} vs ${now.loss}`);
    } finally {
      await engine.dispose();
    }
  });

  it("without validation rows: no candidate, no early stop, the budget's last step kept", async () => {
    const engine = new TfjsEngine(problem, { learn });
    try {
      const result = await learnCoefficients(engine, resolveObjective(executor, "supervised", learn), { maxSteps: 9 });
      assert.deepEqual(result.candidates, []);
      assert.equal(result.steps, 9);
      assert.equal(result.bestStep, 9);
      assert.equal(result.stoppedBy, "budget");
      assert.equal(result.validation, undefined);
    } finally {
      await engine.dispose();
    }
  });

  it("the learner loads no TensorFlow.js at run time (a resolve hook reports every @tensorflow module)", function () {
    const dir = mkdtempSync(join(tmpdir(), "one-learner-"));
    try {
      const hook = join(dir, "hook.mjs");
      writeFileSync(
        hook,
        'export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.includes("@tensorflow")) process.stdout.write("TFJS " + r.url + "\\n"); return r; }\n',
      );
      const load = (file: string) =>
        spawnSync(
          process.execPath,
          [
            "--import",
            "tsx",
            "--loader",
            pathToFileURL(hook).href,
            "-e",
            `await import(${JSON.stringify(file)}); console.log("loaded")`,
          ],
          { encoding: "utf8", cwd: process.cwd() },
        ).stdout;
      const learner = load(pathToFileURL(join(process.cwd(), "src/worker/learn/learn.ts")).href);
      assert.match(learner, /loaded/);
      assert.doesNotMatch(learner, /TFJS/);
      // The hook sees TF.js where it is loaded: the engine.
      assert.match(load(pathToFileURL(join(process.cwd(), "src/worker/engine/tfjs-engine.ts")).href), /TFJS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
