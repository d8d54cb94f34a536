// Every layer class the Keras→TF.js translation supports (src/core/keras/to-tfjs.ts) learns on wasm: the
// gradient of a loss with respect to every weight of a tiny model holding it equals the cpu backend's.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { ModelFileError } from "../../../src/core/errors.js";
import { ensureLearnableBackend } from "../../../src/worker/learnable-backend.js";
import { on, randomTensor, relativeError, values } from "./compare.js";

const L = tf.layers;

interface Case {
  readonly layers: string;
  readonly input: number[];
  readonly make: () => tf.layers.Layer[];
  /** Integer inputs in [0, 10) (Embedding), or rows of zeros the Masking layer skips. */
  readonly inputs?: "ids" | "masked";
}

// A Dense layer first where the layer under test has no weights of its own, so the gradient has to flow
// through it (the input-gradient kernels: Conv2DBackpropInput, MaxPoolGrad, …) to reach a weight.
const CASES: Case[] = [
  {
    layers: "Conv1D valid; Conv1D stride 2 same",
    input: [9, 3],
    make: () => [
      L.conv1d({ filters: 4, kernelSize: 3 }),
      L.conv1d({ filters: 2, kernelSize: 3, strides: 2, padding: "same" }),
    ],
  },
  {
    layers: "Conv2D valid; Conv2D stride 2 same, relu",
    input: [7, 7, 2],
    make: () => [
      L.conv2d({ filters: 3, kernelSize: 3 }),
      L.conv2d({ filters: 2, kernelSize: 3, strides: 2, padding: "same", activation: "relu" }),
    ],
  },
  {
    layers: "Conv2D channels first",
    input: [2, 6, 6],
    make: () => [
      L.conv2d({ filters: 3, kernelSize: 3, dataFormat: "channelsFirst" }),
      L.conv2d({ filters: 2, kernelSize: 2, dataFormat: "channelsFirst" }),
    ],
  },
  { layers: "Conv3D", input: [4, 4, 4, 1], make: () => [L.conv3d({ filters: 2, kernelSize: 2 })] },
  {
    layers: "Conv2DTranspose stride 2",
    input: [4, 4, 2],
    make: () => [L.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, padding: "same" })],
  },
  {
    layers: "DepthwiseConv2D multiplier 2; stride 2 same",
    input: [7, 7, 2],
    make: () => [
      L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2 }),
      L.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: "same" }),
    ],
  },
  {
    layers: "SeparableConv2D",
    input: [6, 6, 2],
    make: () => [
      L.separableConv2d({ filters: 3, kernelSize: 3, depthMultiplier: 2 }),
      L.separableConv2d({ filters: 2, kernelSize: 3, padding: "same" }),
    ],
  },
  {
    layers: "MaxPooling1D, AveragePooling1D",
    input: [8, 2],
    make: () => [L.dense({ units: 2 }), L.maxPooling1d({ poolSize: 2 }), L.averagePooling1d({ poolSize: 2 })],
  },
  {
    layers: "MaxPooling2D, AveragePooling2D (same, stride 1)",
    input: [6, 6, 2],
    make: () => [
      L.dense({ units: 2 }),
      L.maxPooling2d({ poolSize: 2 }),
      L.averagePooling2d({ poolSize: 2, strides: 1, padding: "same" }),
    ],
  },
  {
    layers: "MaxPooling3D, AveragePooling3D",
    input: [4, 4, 4, 1],
    make: () => [L.dense({ units: 2 }), L.maxPooling3d({ poolSize: 2 }), L.averagePooling3d({ poolSize: 1 })],
  },
  { layers: "GlobalMaxPooling1D", input: [8, 2], make: () => [L.dense({ units: 2 }), L.globalMaxPooling1d()] },
  { layers: "GlobalAveragePooling1D", input: [8, 2], make: () => [L.dense({ units: 2 }), L.globalAveragePooling1d()] },
  { layers: "GlobalMaxPooling2D", input: [5, 5, 2], make: () => [L.dense({ units: 2 }), L.globalMaxPooling2d({})] },
  {
    layers: "GlobalAveragePooling2D",
    input: [5, 5, 2],
    make: () => [L.dense({ units: 2 }), L.globalAveragePooling2d({})],
  },
  {
    layers: "BatchNormalization, LayerNormalization",
    input: [5, 5, 2],
    make: () => [L.dense({ units: 2 }), L.batchNormalization({}), L.layerNormalization({})],
  },
  {
    layers: "Dropout, SpatialDropout1D, GaussianNoise, GaussianDropout, AlphaDropout",
    input: [6, 3],
    make: () => [
      L.dense({ units: 3 }),
      L.dropout({ rate: 0.5 }),
      L.spatialDropout1d({ rate: 0.5 }),
      L.gaussianNoise({ stddev: 0.1 }),
      L.gaussianDropout({ rate: 0.1 }),
      L.alphaDropout({ rate: 0.1 }),
    ],
  },
  {
    layers: "Flatten, Reshape, Permute, RepeatVector",
    input: [4],
    make: () => [
      L.dense({ units: 4 }),
      L.repeatVector({ n: 2 }),
      L.permute({ dims: [2, 1] }),
      L.reshape({ targetShape: [2, 4] }),
      L.flatten(),
    ],
  },
  {
    layers: "ZeroPadding2D, Cropping2D, UpSampling2D",
    input: [4, 4, 2],
    make: () => [
      L.dense({ units: 2 }),
      L.zeroPadding2d({ padding: 1 }),
      L.cropping2D({ cropping: 1 }),
      L.upSampling2d({ size: [2, 2] }),
    ],
  },
  { layers: "Embedding", input: [5], inputs: "ids", make: () => [L.embedding({ inputDim: 10, outputDim: 3 })] },
  { layers: "LSTM", input: [5, 3], make: () => [L.lstm({ units: 4, returnSequences: true }), L.lstm({ units: 3 })] },
  { layers: "GRU", input: [5, 3], make: () => [L.gru({ units: 4 })] },
  { layers: "SimpleRNN", input: [5, 3], make: () => [L.simpleRNN({ units: 4 })] },
  { layers: "Bidirectional", input: [5, 3], make: () => [L.bidirectional({ layer: L.lstm({ units: 3 }) as never })] },
  { layers: "TimeDistributed", input: [5, 3], make: () => [L.timeDistributed({ layer: L.dense({ units: 2 }) })] },
  {
    layers: "Masking",
    input: [5, 3],
    inputs: "masked",
    make: () => [L.masking({ maskValue: 0 }), L.lstm({ units: 2 })],
  },
  {
    layers: "Activation, ReLU, LeakyReLU, PReLU, ELU, Softmax, ThresholdedReLU",
    input: [6],
    make: () => [
      L.dense({ units: 6 }),
      L.activation({ activation: "selu" }),
      L.reLU({ maxValue: 6 }),
      L.leakyReLU({}),
      L.prelu({}),
      L.elu({}),
      L.thresholdedReLU({ theta: 0.1 }),
      L.softmax({}),
    ],
  },
  { layers: "Rescaling", input: [4], make: () => [L.rescaling({ scale: 2, offset: 1 }), L.dense({ units: 3 })] },
];

/** The case's layers then a Dense of 2 outputs, with fixed weights (variances positive) so every run checks the same numbers. */
function modelOf(c: Case): tf.LayersModel {
  const input = tf.input({ shape: c.input });
  let out: tf.SymbolicTensor = input;
  for (const layer of c.make()) out = layer.apply(out) as tf.SymbolicTensor;
  if (out.shape.length > 2) out = L.flatten().apply(out) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: L.dense({ units: 2 }).apply(out) as tf.SymbolicTensor });
  model.weights.forEach((w, k) => {
    const shape = w.shape as number[];
    const v = values(
      100 + k,
      shape.reduce((a, b) => a * b, 1),
    ).map((x) => (/variance/.test(w.name) ? Math.abs(x) + 0.5 : x * 0.7));
    w.write(tf.tensor(v, shape));
  });
  return model;
}

function inputsOf(c: Case): tf.Tensor {
  const shape = [3, ...c.input];
  if (c.inputs === "ids")
    return tf.tensor(
      Array.from(values(20, 15), (v) => Math.floor((v + 1) * 5)),
      shape,
    );
  const x = randomTensor(21, shape);
  // The last two time steps of every row are the mask value.
  return c.inputs === "masked" ? tf.concat([x.slice([0, 0, 0], [3, 3, 3]), tf.zeros([3, 2, 3])], 1) : x;
}

function loss(model: tf.LayersModel, x: tf.Tensor): tf.Scalar {
  return tf.sum(
    tf.mul(tf.tanh(model.apply(x, { training: false }) as tf.Tensor), randomTensor(22, [x.shape[0]!, 2])),
  ) as tf.Scalar;
}

/** ∂(Σ tanh(model(x)) · r)/∂w for every weight, trainable or not, in the order of model.weights. */
function gradients(model: tf.LayersModel, x: tf.Tensor): Float32Array[] {
  const variables = model.weights.map((w) => w.read() as tf.Variable);
  variables.forEach((v) => (v.trainable = true));
  return tf.tidy(() => {
    const { grads } = tf.variableGrads(() => loss(model, x), variables);
    return variables.map((v) => grads[v.name]!.dataSync() as Float32Array);
  });
}

/** Central differences (step 1e-3) of the loss for the first `count` elements of weight `k`. */
function differences(
  model: tf.LayersModel,
  x: tf.Tensor,
  k: number,
  count: number,
): { numeric: number[]; indices: number[] } {
  const variable = model.weights[k]!.read() as tf.Variable;
  const base = variable.dataSync().slice();
  const indices = Array.from({ length: Math.min(count, base.length) }, (_, i) =>
    Math.floor((i * base.length) / Math.min(count, base.length)),
  );
  const at = (i: number, delta: number) => {
    const shifted = base.slice();
    shifted[i] = base[i]! + delta;
    variable.assign(tf.tensor(shifted, variable.shape));
    return tf.tidy(() => loss(model, x).dataSync()[0]!);
  };
  const numeric = indices.map((i) => (at(i, 1e-3) - at(i, -1e-3)) / 2e-3);
  variable.assign(tf.tensor(base, variable.shape));
  return { numeric, indices };
}

describe("every translated layer class learns on the wasm backend", function () {
  after(async () => {
    await on("cpu", () => undefined);
  });

  for (const c of CASES) {
    it(`${c.layers}: the gradient of every weight equals the cpu backend's and central differences`, async () => {
      const { model, x } = await on("wasm", () => ({ model: modelOf(c), x: inputsOf(c) }));
      const wasm = await on("wasm", () => gradients(model, x));
      const cpu = await on("cpu", () => gradients(model, x));
      assert.equal(wasm.length, model.weights.length);
      for (let k = 0; k < wasm.length; k++) {
        const error = relativeError(wasm[k]!, cpu[k]!);
        // RNNs chain many float32 products; 1e-4 still separates rounding from a wrong formula by orders of magnitude.
        assert.ok(error < 1e-4, `${model.weights[k]!.name}: relative error ${error} against cpu`);
        // Float32 loss of order 1, step 1e-3: rounding makes the differences good to ~1e-4 · |loss| / 1e-3 where no
        // ReLU or max switches inside the step.
        const { numeric, indices } = await on("wasm", () => differences(model, x, k, 6));
        const analytic = indices.map((i) => wasm[k]![i]!);
        assert.ok(
          relativeError(analytic, numeric) < 5e-3,
          `${model.weights[k]!.name}: ${analytic} against central differences ${numeric}`,
        );
      }
      model.dispose();
      x.dispose();
    });
  }
});

describe("the gradient probe at the start of learning", function () {
  after(async () => {
    await on("cpu", () => undefined);
  });

  function lenetLike(dilation = 1): tf.LayersModel {
    return modelOf({
      layers: "",
      input: [8, 8, 1],
      make: () => [L.conv2d({ filters: 2, kernelSize: 3, dilationRate: dilation }), L.maxPooling2d({ poolSize: 2 })],
    });
  }

  it("keeps wasm when wasm computes the model's gradient", async () => {
    const { model, x } = await on("wasm", () => ({ model: lenetLike(), x: randomTensor(23, [4, 8, 8, 1]) }));
    assert.deepEqual(await ensureLearnableBackend(model, x, "wasm", "lenet.json"), { backend: "wasm" });
    assert.equal(tf.getBackend(), "wasm");
    model.dispose();
    x.dispose();
  });

  it("moves to cpu, saying why, when wasm lacks a gradient kernel (stock TF.js wasm without ours)", async () => {
    const { model, x } = await on("wasm", () => ({ model: lenetLike(), x: randomTensor(24, [4, 8, 8, 1]) }));
    const ours = tf.getKernel("Conv2DBackpropFilter", "wasm")!;
    tf.unregisterKernel("Conv2DBackpropFilter", "wasm");
    try {
      const chosen = await ensureLearnableBackend(model, x, "wasm", "lenet.json");
      assert.equal(chosen.backend, "cpu");
      assert.equal(tf.getBackend(), "cpu");
      assert.match(
        chosen.note!,
        /^learning on the cpu backend: the wasm backend cannot compute this model's gradient \(.*Conv2DBackpropFilter.*\)$/,
      );
      assert.ok(!chosen.note!.includes("\n"));
    } finally {
      tf.registerKernel(ours);
    }
    model.dispose();
    x.dispose();
  });

  it("refuses in one line naming the model when no backend can (dilated convolutions: TF.js has no gradient)", async () => {
    const { model, x } = await on("wasm", () => ({ model: lenetLike(2), x: randomTensor(25, [4, 8, 8, 1]) }));
    await assert.rejects(ensureLearnableBackend(model, x, "wasm", "dilated.keras"), (e: unknown) => {
      assert.ok(e instanceof ModelFileError);
      assert.match(
        e.message,
        /^dilated\.keras: TensorFlow\.js cannot compute this model's gradient, so its soup cannot be learned \(.*dilation.*\)$/,
      );
      assert.ok(!e.message.includes("\n"));
      return true;
    });
    model.dispose();
    x.dispose();
  });
});
