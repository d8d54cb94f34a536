import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { reestimateBatchNorm } from "../../../src/worker/learn/batchnorm.js";
import { blobs, disposeData, FEATURES } from "./toy.js";

function channelStats(values: Float32Array, channels: number): { mean: number[]; variance: number[] } {
  const rows = values.length / channels;
  const mean = Array.from({ length: channels }, (_, c) => {
    let s = 0;
    for (let r = 0; r < rows; r++) s += values[r * channels + c]!;
    return s / rows;
  });
  const variance = mean.map((m, c) => {
    let s = 0;
    for (let r = 0; r < rows; r++) s += (values[r * channels + c]! - m) ** 2;
    return s / rows;
  });
  return { mean, variance };
}

describe("worker/learn/batchnorm: re-estimating moving statistics", () => {
  before(() => tf.setBackend("cpu"));

  it("sets each layer's moving mean/variance to its input's statistics over the data, in order", async () => {
    const data = blobs(300, 5);
    const model = tf.sequential({
      layers: [
        tf.layers.dense({
          inputShape: [FEATURES],
          units: 6,
          activation: "tanh",
          kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
          name: "d1",
        }),
        tf.layers.batchNormalization({ name: "bn1" }),
        tf.layers.dense({
          units: 5,
          activation: "relu",
          kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
          name: "d2",
        }),
        tf.layers.batchNormalization({ name: "bn2" }),
        tf.layers.dense({ units: 3, activation: "softmax", name: "out" }),
      ],
    });
    // Averaged ingredients' statistics: deliberately wrong values.
    for (const w of model.weights) {
      if (w.name.includes("moving_mean")) tf.tidy(() => void w.write(tf.fill(w.read().shape, 3)));
      if (w.name.includes("moving_variance")) tf.tidy(() => void w.write(tf.fill(w.read().shape, 7)));
    }
    // Batches of 64 on 300 rows: the combination across unequal batches must be exact.
    const updated = await reestimateBatchNorm(model, data.x, 64);
    assert.deepEqual(updated, ["bn1", "bn2"]);
    for (const name of ["bn1", "bn2"]) {
      const layer = model.getLayer(name);
      const probe = tf.model({ inputs: model.inputs, outputs: layer.input as tf.SymbolicTensor });
      const input = probe.predict(data.x) as tf.Tensor;
      const expected = channelStats(input.dataSync() as Float32Array, input.shape[1]!);
      input.dispose();
      const stat = (suffix: string) =>
        Array.from(
          layer.weights
            .find((w) => w.name.includes(suffix))!
            .read()
            .dataSync(),
        );
      stat("moving_mean").forEach((v, c) => assert.ok(Math.abs(v - expected.mean[c]!) < 1e-5, `${name} mean[${c}]`));
      stat("moving_variance").forEach((v, c) =>
        assert.ok(
          Math.abs(v - expected.variance[c]!) < 1e-5 * Math.max(1, expected.variance[c]!),
          `${name} var[${c}]: ${v} vs ${expected.variance[c]}`,
        ),
      );
    }
    model.dispose();
    disposeData(data);
  });
});
