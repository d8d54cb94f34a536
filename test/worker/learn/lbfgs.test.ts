import assert from "node:assert/strict";
import { minimizeLbfgs } from "../../../src/worker/learn/lbfgs.js";
import { mulberry32 } from "../../../src/core/random.js";

describe("worker/learn/lbfgs", () => {
  it("finds the minimum of an ill-conditioned convex quadratic", async () => {
    // f(x) = ½ Σ c_k (x_k − t_k)², condition number 1000.
    const c = [1, 10, 100, 1000, 3];
    const t = [1, -2, 0.5, 3, -1];
    const result = await minimizeLbfgs(
      (x) => ({
        f: 0.5 * c.reduce((s, ck, k) => s + ck * (x[k]! - t[k]!) ** 2, 0),
        g: x.map((v, k) => c[k]! * (v - t[k]!)),
      }),
      new Float64Array(5),
      { maxIterations: 100, gradientTolerance: 1e-8, functionTolerance: 0 },
    );
    result.x.forEach((v, k) => assert.ok(Math.abs(v - t[k]!) < 1e-6, `x[${k}] = ${v}, expected ${t[k]}`));
    assert.equal(result.reason, "gradient");
    assert.ok(result.evaluations < 60, `${result.evaluations} evaluations`);
  });

  it("converges on a convex logistic regression to the point where the gradient vanishes", async () => {
    const random = mulberry32(3);
    const n = 200;
    const xs = Array.from({ length: n }, () => [random() * 4 - 2, random() * 4 - 2, 1]);
    const ys = xs.map(([a, b]) => (a! - 0.5 * b! + 0.3 * (random() - 0.5) > 0 ? 1 : 0));
    const evaluate = (w: Float64Array) => {
      let f = 0;
      const g = new Float64Array(3);
      xs.forEach((x, i) => {
        const z = x.reduce((s, v, k) => s + v * w[k]!, 0);
        const p = 1 / (1 + Math.exp(-z));
        f += Math.log1p(Math.exp(-Math.abs(z))) + Math.max(z, 0) - ys[i]! * z;
        x.forEach((v, k) => (g[k] += (p - ys[i]!) * v));
      });
      // A small ridge keeps the minimum finite on separable-ish data.
      w.forEach((v, k) => {
        f += 0.05 * v * v;
        g[k] += 0.1 * v;
      });
      return { f, g };
    };
    const result = await minimizeLbfgs(evaluate, new Float64Array(3), {
      maxIterations: 200,
      gradientTolerance: 1e-7,
      functionTolerance: 0,
    });
    const { g } = evaluate(result.x);
    assert.ok(Math.max(...g.map(Math.abs)) < 1e-5, `gradient at the solution: ${Array.from(g)}`);
    assert.ok(result.x[0]! > 0 && result.x[1]! < 0, "the learned direction separates the classes");
  });

  it("stops when the callback asks", async () => {
    let calls = 0;
    const result = await minimizeLbfgs((x) => ({ f: x[0]! ** 2, g: Float64Array.of(2 * x[0]!) }), Float64Array.of(5), {
      maxIterations: 100,
      onIteration: () => ++calls === 2,
    });
    assert.equal(result.reason, "callback");
    assert.equal(result.iterations, 2);
  });

  it("awaits an asynchronous evaluation and callback, and rejects with the evaluation's error", async () => {
    const later = <T>(value: T) => new Promise<T>((resolve) => setImmediate(() => resolve(value)));
    const quadratic = (x: Float64Array) => later({ f: (x[0]! - 2) ** 2, g: Float64Array.of(2 * (x[0]! - 2)) });
    const iterations: number[] = [];
    const result = await minimizeLbfgs(quadratic, Float64Array.of(-3), {
      maxIterations: 50,
      gradientTolerance: 1e-9,
      onIteration: (i) => later(iterations.push(i) === 10),
    });
    assert.ok(Math.abs(result.x[0]! - 2) < 1e-6, `x = ${result.x[0]}`);
    assert.deepEqual(
      iterations,
      Array.from({ length: result.iterations }, (_, k) => k + 1),
    );
    let calls = 0;
    await assert.rejects(
      minimizeLbfgs(
        async (x) => {
          if (++calls === 3) throw new Error("evaluation failed");
          return quadratic(x);
        },
        Float64Array.of(-3),
        { maxIterations: 50 },
      ),
      /evaluation failed/,
    );
  });
});
