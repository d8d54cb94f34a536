import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { mulberry32 } from "../../../src/core/random.js";
import { coefficientSpace, type Granularity, type Parameterisation } from "../../../src/worker/learn/coefficients.js";
import { SoupGradient } from "../../../src/worker/learn/gradient.js";
import { Merger } from "../../../src/worker/learn/merge.js";
import { resolveObjective } from "../../../src/worker/learn/objective.js";
import type { SoupData, SoupProblem } from "../../../src/worker/learn/problem.js";
import { blobs, disposeData, mlp, problemOf, weightsOf } from "./toy.js";

/** Ingredients = one random model's weights plus seeded perturbations (smooth loss, distinct coefficients). */
function perturbedIngredients(base: Float32Array[], count: number, seed: number): Float32Array[][] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, () => base.map((w) => w.map((v) => v + 0.4 * (random() - 0.5))));
}

async function check(
  problem: SoupProblem,
  data: SoupData,
  granularity: Granularity,
  parameterisation: Parameterisation,
  objectiveName: "supervised" | "entropy" = "supervised",
) {
  const space = coefficientSpace(problem.layerOf, problem.ingredients.length, granularity, parameterisation);
  const merger = new Merger(problem, space);
  try {
    const gradient = new SoupGradient(merger, resolveObjective(problem.model, objectiveName, data));
    const random = mulberry32(7);
    // An interior, non-symmetric point (nonneg: all positive so the clamp is inactive).
    const theta = Float64Array.from({ length: space.ingredients * space.groups.length }, () =>
      parameterisation === "nonneg" ? 0.2 + 0.5 * random() : random() - 0.4,
    );
    const analytic = (await gradient.full(theta, data, 1000)).grad;
    const eps = 5e-3;
    const numeric = new Float64Array(theta.length);
    for (let k = 0; k < theta.length; k++) {
      const plus = Float64Array.from(theta);
      const minus = Float64Array.from(theta);
      plus[k] += eps;
      minus[k] -= eps;
      numeric[k] =
        ((await gradient.full(plus, data, 1000)).loss - (await gradient.full(minus, data, 1000)).loss) / (2 * eps);
    }
    const scale = Math.max(...numeric.map(Math.abs));
    assert.ok(scale > 1e-3, `the finite-difference gradient is not trivially zero (${scale})`);
    analytic.forEach((a, k) => {
      assert.ok(
        Math.abs(a - numeric[k]!) <= 1e-2 * scale,
        `${granularity}/${parameterisation} θ[${k}]: identity ${a} vs finite differences ${numeric[k]}`,
      );
    });
  } finally {
    merger.dispose();
  }
}

describe("worker/learn/gradient: the identity ∂L/∂α = ⟨∂L/∂W, W_i⟩ against central finite differences", () => {
  let data: SoupData;
  let executor: tf.LayersModel;
  let bnExecutor: tf.LayersModel;
  let ingredients: Float32Array[][];
  let bnIngredients: Float32Array[][];

  before(async () => {
    await tf.setBackend("cpu");
    data = blobs(90, 3);
    executor = mlp({ seed: 1, hidden: 5 });
    ingredients = perturbedIngredients(weightsOf(mlp({ seed: 2, hidden: 5 })), 3, 11);
    bnExecutor = mlp({ seed: 1, hidden: 5, batchNorm: true });
    const bnBase = weightsOf(mlp({ seed: 2, hidden: 5, batchNorm: true }));
    // Give the moving statistics real spread (variance kept positive) so their gradients matter.
    bnIngredients = perturbedIngredients(bnBase, 3, 12).map((ing) =>
      ing.map((w, k) =>
        bnExecutor.weights[k]!.name.includes("moving_variance") ? w.map((v) => Math.abs(v) + 0.5) : w,
      ),
    );
  });
  after(() => {
    disposeData(data);
    executor.dispose();
    bnExecutor.dispose();
  });

  for (const granularity of ["model", "layer"] as const) {
    for (const parameterisation of ["simplex", "nonneg", "free"] as const) {
      it(`${granularity} granularity, ${parameterisation}`, async () => {
        await check(problemOf(executor, ingredients), data, granularity, parameterisation);
      });
    }
  }

  it("task-vector form (W = base + Σ λ_i τ_i), layer granularity, free", async () => {
    const base = weightsOf(mlp({ seed: 5, hidden: 5 }));
    await check(problemOf(executor, ingredients, base), data, "layer", "free");
  });

  it("task-vector form, model granularity, simplex", async () => {
    const base = weightsOf(mlp({ seed: 5, hidden: 5 }));
    await check(problemOf(executor, ingredients, base), data, "model", "simplex");
  });

  it("includes BatchNormalization moving statistics (non-trainable variables) in the gradient", async () => {
    // simplex keeps the merged variances positive.
    await check(problemOf(bnExecutor, bnIngredients), data, "layer", "simplex");
  });

  it("entropy objective (no labels)", async () => {
    await check(problemOf(executor, ingredients), { x: data.x }, "layer", "simplex", "entropy");
  });
});
