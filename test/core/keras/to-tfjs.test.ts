import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import * as tf from "@tensorflow/tfjs";
import { ModelFileError } from "../../../src/core/errors.js";
import { parseKerasModelConfig } from "../../../src/core/keras/config.js";
import { toTfjsTopology } from "../../../src/core/keras/to-tfjs.js";

const CONFIGS = "test/fixtures/keras3-configs";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function config(name: string): Promise<Json> {
  return JSON.parse(await readFile(`${CONFIGS}/${name}.json`, "utf8")) as Json;
}

async function build(raw: Json, kerasVersion = "3.5.0"): Promise<tf.LayersModel> {
  const architecture = parseKerasModelConfig("config.json", raw, kerasVersion);
  return tf.models.modelFromJSON({
    modelTopology: toTfjsTopology(architecture, "config.json"),
  } as unknown as tf.io.ModelJSON);
}

function translate(raw: Json, kerasVersion = "3.5.0"): Json {
  return toTfjsTopology(parseKerasModelConfig("config.json", raw, kerasVersion), "config.json");
}

/** Seeded weights for `from`, copied layer by layer (by name) into `to`. */
function sameRandomWeights(from: tf.LayersModel, to: tf.LayersModel): void {
  let seed = 1;
  for (const layer of from.layers) {
    if (layer.weights.length === 0) continue;
    const values = layer.weights.map((w) =>
      w.originalName.endsWith("variance")
        ? tf.randomUniform(w.shape as number[], 0.5, 1.5, "float32", seed++)
        : tf.randomUniform(w.shape as number[], -0.5, 0.5, "float32", seed++),
    );
    layer.setWeights(values);
    to.getLayer(layer.name).setWeights(values);
    tf.dispose(values);
  }
}

function predictions(model: tf.LayersModel, inputs: tf.Tensor[]): Float32Array {
  const out = model.predict(inputs.length === 1 ? inputs[0]! : inputs) as tf.Tensor;
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

function layerSummary(model: tf.LayersModel): string[] {
  return model.layers.map((l) => `${l.name}:${l.getClassName()}`);
}

describe("Keras 3 configs translated for TF.js", () => {
  before(async () => {
    await tf.setBackend("cpu");
  });

  it("a Sequential (InputLayer, Dense, BatchNormalization, Dropout) computes what the same tfjs model computes", async () => {
    const model = await build(await config("sequential_mlp"));
    assert.equal(model.countParams(), 8 * 16 + 16 + 4 * 16 + 16 * 3 + 3);
    assert.deepEqual(layerSummary(model), [
      "dense:Dense",
      "batch_normalization:BatchNormalization",
      "dropout:Dropout",
      "dense_1:Dense",
    ]);
    const twin = tf.sequential({
      layers: [
        tf.layers.dense({ units: 16, activation: "relu", inputShape: [8], name: "dense" }),
        tf.layers.batchNormalization({ axis: -1, momentum: 0.99, epsilon: 0.001, name: "batch_normalization" }),
        tf.layers.dropout({ rate: 0.2, name: "dropout" }),
        tf.layers.dense({ units: 3, activation: "softmax", name: "dense_1" }),
      ],
    });
    sameRandomWeights(model, twin);
    const x = tf.randomUniform([4, 8], -1, 1, "float32", 11);
    assert.deepEqual(predictions(model, [x]), predictions(twin, [x]));
    tf.dispose([x]);
    model.dispose();
    twin.dispose();
  });

  it("a functional CNN (ZeroPadding2D, Conv2D, BN, Activation, DepthwiseConv2D, SeparableConv2D, pooling, Add, Concatenate, LayerNormalization)", async () => {
    const model = await build(await config("functional_cnn"));
    assert.equal(model.countParams(), 112 + 16 + 40 + 66 + 42 + 130 + 20 + 33);
    assert.deepEqual(model.outputs[0]!.shape, [null, 3]);
    const image = tf.input({ shape: [12, 12, 3], name: "image" });
    const padded = tf.layers
      .zeroPadding2d({
        padding: [
          [1, 1],
          [1, 1],
        ],
        name: "zero_padding2d",
      })
      .apply(image) as tf.SymbolicTensor;
    const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: "conv2d" }).apply(padded) as tf.SymbolicTensor;
    const bn = tf.layers
      .batchNormalization({ axis: -1, momentum: 0.99, epsilon: 0.001, name: "batch_normalization" })
      .apply(conv) as tf.SymbolicTensor;
    const act = tf.layers.activation({ activation: "relu", name: "activation" }).apply(bn) as tf.SymbolicTensor;
    const dw = tf.layers
      .depthwiseConv2d({ kernelSize: 3, activation: "relu", name: "depthwise_conv2d" })
      .apply(act) as tf.SymbolicTensor;
    const sep = tf.layers
      .separableConv2d({ filters: 6, kernelSize: 3, activation: "relu", name: "separable_conv2d" })
      .apply(dw) as tf.SymbolicTensor;
    const pool = tf.layers
      .maxPooling2d({ poolSize: 2, strides: 2, name: "max_pooling2d" })
      .apply(sep) as tf.SymbolicTensor;
    const shortcut = tf.layers
      .conv2d({ filters: 6, kernelSize: 1, padding: "same", name: "shortcut" })
      .apply(pool) as tf.SymbolicTensor;
    const add = tf.layers.add({ name: "add" }).apply([pool, shortcut]) as tf.SymbolicTensor;
    const cat = tf.layers.concatenate({ axis: -1, name: "concatenate" }).apply([add, pool]) as tf.SymbolicTensor;
    const gap = tf.layers.globalAveragePooling2d({ name: "global_average_pooling2d" }).apply(cat) as tf.SymbolicTensor;
    const dense = tf.layers.dense({ units: 10, activation: "relu", name: "dense" }).apply(gap) as tf.SymbolicTensor;
    const ln = tf.layers
      .layerNormalization({ axis: -1, epsilon: 0.001, name: "layer_normalization" })
      .apply(dense) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, activation: "softmax", name: "dense_1" }).apply(ln) as tf.SymbolicTensor;
    const twin = tf.model({ inputs: image, outputs: out });
    sameRandomWeights(model, twin);
    const x = tf.randomUniform([2, 12, 12, 3], -1, 1, "float32", 12);
    assert.deepEqual(predictions(model, [x]), predictions(twin, [x]));
    x.dispose();
    model.dispose();
    twin.dispose();
  });

  it("a functional text model (int32 input, Embedding, Conv1D, LSTM states as another LSTM's initial_state, GRU, Reshape, Flatten)", async () => {
    const model = await build(await config("functional_text"));
    assert.equal(model.countParams(), 400 + 200 + 360 + 240 + 132 + 30 + 14);
    assert.deepEqual(
      model.inputs.map((i) => i.dtype),
      ["int32", "float32"],
    );
    const tokens = tf.input({ shape: [6], dtype: "int32", name: "tokens" });
    const decoderInput = tf.input({ shape: [4, 3], name: "decoder_input" });
    const emb = tf.layers
      .embedding({ inputDim: 50, outputDim: 8, name: "embedding" })
      .apply(tokens) as tf.SymbolicTensor;
    const conv = tf.layers
      .conv1d({ filters: 8, kernelSize: 3, padding: "same", activation: "relu", name: "conv1d" })
      .apply(emb) as tf.SymbolicTensor;
    const [, h, c] = tf.layers
      .lstm({ units: 6, returnState: true, recurrentActivation: "sigmoid", name: "encoder" })
      .apply(conv) as tf.SymbolicTensor[];
    const decoded = tf.layers
      .lstm({ units: 6, returnSequences: true, recurrentActivation: "sigmoid", name: "decoder" })
      .apply(decoderInput, { initialState: [h!, c!] }) as tf.SymbolicTensor;
    const gru = tf.layers
      .gru({ units: 4, recurrentActivation: "sigmoid", name: "gru" })
      .apply(decoded) as tf.SymbolicTensor;
    const dense = tf.layers.dense({ units: 6, activation: "tanh", name: "dense" }).apply(gru) as tf.SymbolicTensor;
    const reshaped = tf.layers.reshape({ targetShape: [2, 3], name: "reshape" }).apply(dense) as tf.SymbolicTensor;
    const flat = tf.layers.flatten({ name: "flatten" }).apply(reshaped) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, activation: "sigmoid", name: "dense_1" }).apply(flat) as tf.SymbolicTensor;
    const twin = tf.model({ inputs: [tokens, decoderInput], outputs: out });
    sameRandomWeights(model, twin);
    const x = [tf.randomUniform([3, 6], 0, 50, "int32", 13), tf.randomUniform([3, 4, 3], -1, 1, "float32", 14)];
    const ours = predictions(model, x);
    assert.deepEqual(ours, predictions(twin, x));
    // The decoder is called on its input and the encoder's two states (else it would start from zeros).
    assert.equal(model.getLayer("decoder").inboundNodes[0]!.inputTensors.length, 3);
    assert.ok(ours.every(Number.isFinite));
    tf.dispose(x);
    model.dispose();
    twin.dispose();
  });

  it("translates Keras 3 forms to Keras 2 ones", async () => {
    const topology = translate(await config("functional_text"));
    const layers = topology.config.layers as Json[];
    const tokens = layers[0]!;
    assert.deepEqual(tokens.config, { batch_input_shape: [null, 6], dtype: "int32", sparse: false, name: "tokens" });
    const decoder = layers.find((l) => l.name === "decoder")!;
    assert.deepEqual(decoder.inbound_nodes, [
      [
        ["decoder_input", 0, 0, {}],
        ["encoder", 0, 1, {}],
        ["encoder", 0, 2, {}],
      ],
    ]);
    assert.equal(decoder.config.dtype, "float32");
    assert.deepEqual(decoder.config.kernel_initializer, { class_name: "Zeros", config: {} });
    for (const key of ["module", "registered_name", "build_config"]) assert.ok(!(key in decoder), key);
    assert.ok(!("seed" in decoder.config));
    const seq = translate(await config("sequential_mlp"));
    // The InputLayer's shape moves onto the first layer, as Keras 2 wrote Sequentials.
    assert.deepEqual(seq.config.layers[0].config.batch_input_shape, [null, 8]);
    assert.equal(seq.config.layers.length, 4);
  });

  it("refuses a GRU with reset_after=true (Keras 3's default), naming the layer and class", async () => {
    await assert.rejects(build(await config("gru_reset_after")), (e: Error) => {
      assert.ok(e instanceof ModelFileError);
      assert.match(
        e.message,
        /^config\.json: layer "gru" \(GRU\) cannot run in TF\.js: it is a GRU with reset_after=true/,
      );
      return true;
    });
  });

  it("refuses layers and options TF.js would run differently, and maps the ones it can", async () => {
    const base = await config("sequential_mlp");
    const withLayer = (edit: (layers: Json[]) => void) => {
      const raw = structuredClone(base);
      edit(raw.config.layers);
      return raw;
    };
    const cases: [Json, RegExp][] = [
      [
        withLayer((l) => (l[1].class_name = "Subtract")),
        /layer "dense" \(Subtract\) cannot run in TF\.js: TF\.js has no such layer/,
      ],
      [withLayer((l) => (l[1].config.activation = "hard_sigmoid")), /layer "dense" \(Dense\).*Keras 3's hard_sigmoid/],
      [
        withLayer((l) => (l[1].config.activation = "exponential")),
        /layer "dense" \(Dense\).*activation "exponential" has no TF\.js equivalent/,
      ],
      [withLayer((l) => (l[1].config.lora_rank = 4)), /layer "dense" \(Dense\).*LoRA/],
      [
        withLayer((l) => ((l[2].config.synchronized = true), (l[2].config.renorm = true))),
        /layer "batch_normalization" \(BatchNormalization\).*renormalization/,
      ],
      [
        withLayer((l) =>
          l.splice(2, 0, {
            module: "keras.layers",
            class_name: "ReLU",
            config: { name: "relu", max_value: null, negative_slope: 0, threshold: 0.5 },
            registered_name: null,
          }),
        ),
        /layer "relu" \(ReLU\).*threshold/,
      ],
    ];
    for (const [raw, expected] of cases) assert.throws(() => translate(raw), expected);

    const cnn = structuredClone(await config("functional_cnn"));
    cnn.config.layers[2].config.groups = 3;
    assert.throws(() => translate(cnn), /layer "conv2d" \(Conv2D\).*grouped convolution \(groups=3\)/);
    const called = structuredClone(await config("functional_cnn"));
    called.config.layers[4].inbound_nodes[0].kwargs = { training: true };
    assert.throws(() => translate(called), /layer "activation" \(Activation\).*training=true/);

    // Keras 3's LeakyReLU negative_slope is tfjs's alpha (tfjs would otherwise silently use 0.3).
    const leaky = withLayer((l) =>
      l.splice(2, 0, {
        module: "keras.layers",
        class_name: "LeakyReLU",
        config: { name: "leaky", trainable: true, negative_slope: 0.1 },
        registered_name: null,
      }),
    );
    const model = await build(leaky);
    const x = tf.tensor2d([[-1, -2, 3, 4, -5, 6, 7, -8]]);
    const twin = tf.sequential({
      layers: [
        tf.layers.dense({ units: 16, activation: "relu", inputShape: [8], name: "dense" }),
        tf.layers.leakyReLU({ alpha: 0.1, name: "leaky" }),
      ],
    });
    const probe = tf.model({ inputs: model.inputs, outputs: model.getLayer("leaky").output as tf.SymbolicTensor });
    twin.getLayer("dense").setWeights(
      model
        .getLayer("dense")
        .getWeights()
        .map((w) => tf.randomUniform(w.shape, -1, 1, "float32", 3)),
    );
    model.getLayer("dense").setWeights(twin.getLayer("dense").getWeights());
    assert.deepEqual(predictions(probe, [x]), predictions(twin, [x]));
    tf.dispose([x]);
    model.dispose();
    twin.dispose();
  });
});
