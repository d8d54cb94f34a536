import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { mulberry32 } from "../../../src/core/random.js";
import { resolveTask } from "../../../src/worker/learn/loss.js";
import type { SoupProblem } from "../../../src/worker/learn/problem.js";
import {
  computeStatistics,
  conv2dGeometry,
  conv2dPatches,
  diagonalFisher,
  gramMatrices,
  linearMaps,
} from "../../../src/worker/stats/index.js";
import { blobs, disposeData, FEATURES, mlp, weightsOf } from "../learn/toy.js";

function closeTo(actual: ArrayLike<number>, expected: ArrayLike<number>, relative: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i]! - expected[i]!) <= relative * scale,
      `${what}[${i}]: ${actual[i]} vs ${expected[i]} (±${relative * scale})`,
    );
  }
}

/** XᵀX in float64 of a rows×d matrix. */
function gramOf(x: ArrayLike<number>, rows: number, d: number): Float64Array {
  const g = new Float64Array(d * d);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) g[i * d + j]! += x[r * d + i]! * x[r * d + j]!;
  return g;
}

describe("worker/stats: RegMean Gram matrices and Fisher diagonals", function () {
  this.timeout(60_000);
  before(async () => {
    await tf.setBackend("cpu");
  });

  it("Gram matrices of a Dense stack: the data's XᵀX for the first layer, the hidden activations' for the second", async () => {
    const model = mlp({ seed: 3, hidden: 5 });
    const data = blobs(70, 11);
    try {
      const { maps, notes } = linearMaps(model);
      assert.deepEqual(
        maps.map((m) => m.layer.name),
        ["hidden", "out"],
      );
      assert.deepEqual(notes, []);
      // Batches of 32 (3 batches) accumulate to the whole sum.
      const [g1, g2] = await gramMatrices(model, maps, data.x, 32);
      const x = data.x.dataSync();
      closeTo(g1!, gramOf(x, 70, FEATURES), 1e-6, "hidden");
      // The second layer's inputs, computed here in float64 from the weights: tanh(x W + b).
      const [w, b] = weightsOf(model) as [Float32Array, Float32Array];
      const h = new Float64Array(70 * 5);
      for (let r = 0; r < 70; r++) {
        for (let j = 0; j < 5; j++) {
          let s = b[j]!;
          for (let i = 0; i < FEATURES; i++) s += x[r * FEATURES + i]! * w[i * 5 + j]!;
          h[r * 5 + j] = Math.tanh(s);
        }
      }
      closeTo(g2!, gramOf(h, 70, 5), 1e-5, "out");
    } finally {
      disposeData(data);
      model.dispose();
    }
  });

  it("Conv2D patches: a hand-checked 3×3 image, and patches · kernel equals the layer's own output", async () => {
    // One 3×3 single-channel image 1..9, a 2×2 kernel, valid, stride 1: four patches in (dy, dx) order.
    const image = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const patches = conv2dPatches(image, {
      kernelSize: [2, 2],
      strides: [1, 1],
      dilationRate: [1, 1],
      padding: "valid",
    });
    assert.deepEqual(patches.shape, [4, 4]);
    assert.deepEqual(Array.from(patches.dataSync()), [1, 2, 4, 5, 2, 3, 5, 6, 4, 5, 7, 8, 5, 6, 8, 9]);
    tf.dispose([image, patches]);

    const random = mulberry32(5);
    const x = tf.tensor4d(
      Float32Array.from({ length: 2 * 7 * 6 * 3 }, () => random() - 0.5),
      [2, 7, 6, 3],
    );
    for (const config of [
      { kernelSize: 3, strides: 2, padding: "same" as const },
      { kernelSize: [3, 2] as [number, number], strides: 1, padding: "valid" as const, dilationRate: 2 },
      { kernelSize: 2, strides: [2, 1] as [number, number], padding: "same" as const },
    ]) {
      const layer = tf.layers.conv2d({
        filters: 4,
        useBias: false,
        ...config,
        kernelInitializer: tf.initializers.glorotUniform({ seed: 9 }),
      });
      const output = layer.apply(x) as tf.Tensor4D;
      const kernel = layer.getWeights()[0]!;
      const rows = conv2dPatches(x, conv2dGeometry(layer));
      const viaPatches = tf.matMul(rows, kernel.reshape([-1, 4]));
      closeTo(viaPatches.dataSync(), output.dataSync(), 1e-5, JSON.stringify(config));
      tf.dispose([output, rows, viaPatches]);
      layer.dispose();
    }
    x.dispose();
  });

  it("a CNN's conv kernel gets the Gram matrix of its patches, one per ingredient, keyed by the kernel's tensor name", async () => {
    const build = (seed: number) => {
      const m = tf.sequential();
      m.add(
        tf.layers.conv2d({
          inputShape: [5, 5, 2],
          filters: 3,
          kernelSize: 2,
          padding: "valid",
          name: "conv",
          kernelInitializer: tf.initializers.glorotUniform({ seed }),
        }),
      );
      m.add(tf.layers.flatten({ name: "flat" }));
      m.add(
        tf.layers.dense({
          units: 2,
          activation: "softmax",
          name: "out",
          kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
        }),
      );
      return m;
    };
    const model = build(1);
    const other = build(2);
    const random = mulberry32(3);
    const x = tf.tensor4d(
      Float32Array.from({ length: 6 * 5 * 5 * 2 }, () => random()),
      [6, 5, 5, 2],
    );
    try {
      const problem: SoupProblem = {
        model,
        variables: model.weights,
        layerOf: model.weights.map((w) => w.originalName.split("/")[0]!),
        ingredients: [weightsOf(model), weightsOf(other)],
      };
      const names = ["conv/kernel", "conv/bias", "out/kernel", "out/bias"];
      const task = resolveTask(model, {});
      const { statistics } = await computeStatistics(problem, { x }, "regmean", { tensorNames: names, task });
      assert.deepEqual([...statistics.keys()].sort(), ["conv/kernel", "out/kernel"]);
      const conv = statistics.get("conv/kernel")!.gram!;
      assert.equal(conv.length, 2);
      // The conv layer reads the data itself: its Gram is the same for both ingredients, the patches' XᵀX.
      const rows = conv2dPatches(x, { kernelSize: [2, 2], strides: [1, 1], dilationRate: [1, 1], padding: "valid" });
      const expected = gramOf(rows.dataSync(), rows.shape[0], 8);
      rows.dispose();
      closeTo(conv[0]!, expected, 1e-6, "conv gram, ingredient 1");
      closeTo(conv[1]!, expected, 1e-6, "conv gram, ingredient 2");
      // The dense layer after it reads each ingredient's own features: the Gram matrices differ.
      const dense = statistics.get("out/kernel")!.gram!;
      assert.equal(dense[0]!.length, 48 * 48);
      assert.notDeepEqual(Array.from(dense[0]!.slice(0, 10)), Array.from(dense[1]!.slice(0, 10)));
    } finally {
      x.dispose();
      model.dispose();
      other.dispose();
    }
  });

  it("Fisher diagonals equal the mean squared gradients of log p(y|x), by central finite differences in float64", async () => {
    // A softmax regression: p = softmax(x W + b). The finite differences run on a float64 copy written here.
    const model = tf.sequential();
    model.add(
      tf.layers.dense({
        inputShape: [FEATURES],
        units: 3,
        activation: "softmax",
        name: "out",
        kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
      }),
    );
    model.layers[0]!.setWeights([model.layers[0]!.getWeights()[0]!, tf.tensor1d([0.1, -0.2, 0.05])]);
    const data = blobs(12, 21);
    try {
      const [w, b] = weightsOf(model).map((a) => Float64Array.from(a)) as [Float64Array, Float64Array];
      const x = data.x.dataSync();
      const labels = data.y!.dataSync();
      const logLikelihood = (W: Float64Array, B: Float64Array, r: number, label: number): number => {
        const z = [0, 1, 2].map((c) => {
          let s = B[c]!;
          for (let i = 0; i < FEATURES; i++) s += x[r * FEATURES + i]! * W[i * 3 + c]!;
          return s;
        });
        const max = Math.max(...z);
        const log = Math.log(z.reduce((a, v) => a + Math.exp(v - max), 0)) + max;
        return z[label]! - log;
      };
      const predicted = (r: number): number => {
        const scores = [0, 1, 2].map((c) => logLikelihood(w, b, r, c));
        return scores.indexOf(Math.max(...scores));
      };
      const finiteDifferenceFisher = (labelOf: (r: number) => number): Float64Array[] => {
        const h = 1e-6;
        return [w, b].map((param) => {
          const out = new Float64Array(param.length);
          for (let p = 0; p < param.length; p++) {
            for (let r = 0; r < 12; r++) {
              const saved = param[p]!;
              param[p] = saved + h;
              const up = logLikelihood(w, b, r, labelOf(r));
              param[p] = saved - h;
              const down = logLikelihood(w, b, r, labelOf(r));
              param[p] = saved;
              out[p]! += ((up - down) / (2 * h)) ** 2 / 12;
            }
          }
          return out;
        });
      };
      const task = resolveTask(model, { y: data.y });
      const labelled = await diagonalFisher(model, model.weights, task, data.x, data.y);
      const expected = finiteDifferenceFisher((r) => labels[r]!);
      closeTo(labelled[0]!, expected[0]!, 1e-4, "kernel (labels)");
      closeTo(labelled[1]!, expected[1]!, 1e-4, "bias (labels)");
      // Without labels: the model's own prediction is the label.
      const own = await diagonalFisher(model, model.weights, task, data.x, undefined);
      const expectedOwn = finiteDifferenceFisher(predicted);
      closeTo(own[0]!, expectedOwn[0]!, 1e-4, "kernel (own prediction)");
      closeTo(own[1]!, expectedOwn[1]!, 1e-4, "bias (own prediction)");
      // Only the first `examples` rows count.
      const few = await diagonalFisher(model, model.weights, task, data.x, data.y, { examples: 12 });
      closeTo(few[0]!, labelled[0]!, 1e-6, "examples = all");
      const one = await diagonalFisher(model, model.weights, task, data.x, data.y, { examples: 1 });
      assert.notDeepEqual(Array.from(one[0]!), Array.from(labelled[0]!));
    } finally {
      disposeData(data);
      model.dispose();
    }
  });
});
