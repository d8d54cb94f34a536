// Both engines re-estimate BatchNormalization statistics with one definition (the population mean and biased
// variance of each layer's input, layer after layer): the same merged MLP on PyTorch (engine.py) and on TF.js
// (worker/learn/batchnorm.ts) ends with the same statistics.
import * as tf from "@tensorflow/tfjs";
import { reestimateBatchNorm, statVariables } from "../../../src/worker/learn/batchnorm.js";
import { readIngredient, TorchEngine } from "../../../src/worker/torch/torch-engine.js";
import { closeTo, dataSplit, FACTORY, fixture, MLP_STATE_DICTS, requireTorch } from "./support.js";

/** mlp_factory.py's network in Keras terms: Linear(6, 16) → BatchNorm1d(16) → ReLU → Dropout → Linear(16, 3). */
function kerasMlp(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 16, inputShape: [6] }));
  model.add(tf.layers.batchNormalization({ epsilon: 1e-5 }));
  model.add(tf.layers.activation({ activation: "relu" }));
  model.add(tf.layers.dense({ units: 3 }));
  return model;
}

/** A torch Linear weight [out, in] as a Keras kernel [in, out]. */
function kernel(weight: Float32Array, out: number, inputs: number): tf.Tensor {
  return tf.tidy(() => tf.tensor2d(weight, [out, inputs]).transpose());
}

describe("BatchNorm re-estimation on PyTorch and on TF.js", function () {
  this.timeout(120_000);

  it("gives the same mean and (biased) variance for the same merged MLP, in batches of 40", async function () {
    const python = await requireTorch(this);
    const learn = await dataSplit(fixture("mlp_data.pt"));
    const engine = await TorchEngine.start({
      python,
      model: { architecture: FACTORY },
      ingredients: await Promise.all(MLP_STATE_DICTS.map(readIngredient)),
      splits: { learn },
      device: "cpu",
      batchSize: 40,
    });
    const model = kerasMlp();
    const x = tf.tensor2d(learn.x, learn.xShape as [number, number]);
    try {
      await engine.write(Float64Array.from([0.5, 0.3, 0.2]), { groupOf: engine.layerOf.map(() => 0), groups: 1 });
      // state-dict order: 0.weight, 0.bias, 1.weight, 1.bias, 1.running_mean, 1.running_var, 4.weight, 4.bias
      const [w0, b0, gamma, beta, mean, variance, w4, b4] = await engine.readMerged();
      // Layer by layer (a model's own weight list puts every trainable weight before the moving statistics).
      model.layers[0]!.setWeights([kernel(w0!, 16, 6), tf.tensor1d(b0!)]);
      model.layers[1]!.setWeights([gamma!, beta!, mean!, variance!].map((v) => tf.tensor1d(v)));
      model.layers[3]!.setWeights([kernel(w4!, 3, 16), tf.tensor1d(b4!)]);
      await engine.reestimateBatchNorm({ split: "learn" });
      const torchStatistics = (await engine.readBatchNorm()).values;
      await reestimateBatchNorm(model, x, 40);
      const tfjsStatistics = statVariables(model).map((v) => v.read().dataSync() as Float32Array);
      ["mean", "variance"].forEach((what, s) =>
        tfjsStatistics[s]!.forEach((v, c) =>
          closeTo(torchStatistics[s]![c]!, v, 1e-5, `${what} of channel ${c}: PyTorch against TF.js`),
        ),
      );
    } finally {
      x.dispose();
      model.dispose();
      await engine.dispose();
    }
  });
});
