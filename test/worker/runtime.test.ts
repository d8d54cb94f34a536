import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { openModel, writeModel } from "../../src/core/formats/registry.js";
import type { Architecture, ModelFile, ModelManifest, TensorInfo } from "../../src/core/model.js";
import {
  bindWeights,
  buildModel,
  finalOutputIndex,
  finalOutputModel,
  loadWeights,
} from "../../src/worker/runtime/index.js";
import { TFJS_FIXTURES, readJson, saveWithTfjs, weightData } from "../core/formats/tfjs-helpers.js";

const LENET_H5 = "test/fixtures/real-models/tensorspace-converter/keras_h5_lenet";
const KERAS3 = "test/fixtures/keras3";

/** Every fixture with an architecture, in every format that has a reader in the tree. */
const RUNNABLE = [
  ...Object.values(TFJS_FIXTURES).map((f) => f.path),
  `${LENET_H5}/keras216_full_keras_model.h5`,
  `${LENET_H5}/keras222_full_keras_seq_model.h5`,
  `${LENET_H5}/tfkeras216_full_tf_keras_model.h5`,
  `${LENET_H5}/keras222_weightsonly_weights.h5`,
  `${KERAS3}/mlp_a.keras`,
  `${KERAS3}/cnn_a.keras`,
  `${KERAS3}/nested.keras`,
  `${KERAS3}/mlp_a_legacy.h5`,
];

interface Runnable {
  model: tf.LayersModel;
  file: ModelFile;
}

async function load(path: string, architectureFrom?: ModelManifest): Promise<Runnable> {
  const file = await openModel(path);
  const manifest = file.manifest.architecture || !architectureFrom ? file.manifest : architectureFrom;
  const model = await buildModel(manifest);
  await loadWeights(model, bindWeights(manifest, model), file);
  return { model, file };
}

/** Seeded inputs for every model input: ints below input_dim where an Embedding reads it, else uniform [-1, 1). */
function inputsFor(model: tf.LayersModel, architecture: Architecture, seed: number): tf.Tensor[] {
  return model.inputs.map((input, i) => {
    const shape = input.shape.map((d, axis) => d ?? (axis === 0 ? 3 : 5));
    const name = architecture.inputs[i];
    const reader = architecture.layers.find(
      (l) => l.className === "Embedding" && (l.name === name || l.inbound.includes(name!)),
    );
    if (reader) return tf.randomUniform(shape, 0, Number(reader.config.input_dim), "int32", seed + i);
    return tf.randomUniform(shape, -1, 1, "float32", seed + i);
  });
}

function predictAll(model: tf.LayersModel, inputs: tf.Tensor[]): Float32Array[] {
  const out = model.predict(inputs.length === 1 ? inputs[0]! : inputs);
  const list = Array.isArray(out) ? out : [out];
  const values = list.map((t) => t.dataSync() as Float32Array);
  tf.dispose(list);
  return values;
}

/** The source a merge would give the writer: the model's current variable values, by manifest name. */
function sourceFromModel(runnable: Runnable) {
  const byName = new Map(bindWeights(runnable.file.manifest, runnable.model).map((b) => [b.tensor, b.variable]));
  return async (info: TensorInfo) => {
    const variable = byName.get(info.name);
    assert.ok(variable, `no variable for ${info.name}`);
    return Float32Array.from(variable.read().dataSync() as Float32Array);
  };
}

/** A copy of a Keras config whose initializers are all Zeros, so tfjs builds big LSTMs without an orthogonal init. */
function withZeroInitializers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withZeroInitializers);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = k.endsWith("_initializer") && v !== null ? { class_name: "Zeros", config: {} } : withZeroInitializers(v);
  }
  return out;
}

describe("worker runtime: running Keras models in TF.js", () => {
  let scratch: string;

  before(async () => {
    await tf.setBackend("cpu");
    scratch = await mkdtemp(join(tmpdir(), "soup-runtime-"));
  });

  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  for (const path of RUNNABLE) {
    it(`predicts the same outputs after a save/load round trip: ${path.split("/").slice(-2).join("/")}`, async () => {
      const original = await load(path);
      const target = join(
        scratch,
        `${basename(path).replace(/\W/g, "_")}`,
        basename(path).endsWith(".json") ? "model.json" : basename(path),
      );
      try {
        const inputs = inputsFor(original.model, original.file.manifest.architecture!, 42);
        const before = predictAll(original.model, inputs);
        for (const values of before)
          assert.ok(values.some((v) => v !== 0) && values.every(Number.isFinite), "outputs are real numbers");
        await import("node:fs/promises").then((fs) => fs.mkdir(join(target, ".."), { recursive: true }));
        await writeModel(path, target, sourceFromModel(original));
        // A weights-only .h5 is written without its sibling topology: run it in the original's architecture.
        const reloaded = await load(target, original.file.manifest);
        try {
          assert.deepEqual(predictAll(reloaded.model, inputs), before);
        } finally {
          reloaded.model.dispose();
          await reloaded.file.close();
        }
        tf.dispose(inputs);
      } finally {
        original.model.dispose();
        await original.file.close();
      }
    });
  }

  it("predicts exactly what tfjs's own loader predicts from the same TF.js files", async () => {
    for (const [key, { path }] of Object.entries(TFJS_FIXTURES)) {
      const ours = await load(path);
      const json = await readJson(path);
      const theirs = await tf.loadLayersModel(
        tf.io.fromMemory({
          modelTopology: withZeroInitializers(json.modelTopology) as tf.io.ModelJSON["modelTopology"],
          weightSpecs: json.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
          weightData: await weightData(path),
        }),
      );
      try {
        const inputs = inputsFor(ours.model, ours.file.manifest.architecture!, 7);
        assert.deepEqual(predictAll(ours.model, inputs), predictAll(theirs, inputs), key);
        tf.dispose(inputs);
      } finally {
        ours.model.dispose();
        theirs.dispose();
        await ours.file.close();
      }
    }
  });

  it("runs a Keras 2 .h5 file and its TF.js conversion to the same prediction", async () => {
    const h5 = await load(`${LENET_H5}/keras216_full_keras_model.h5`);
    const converted = await load(TFJS_FIXTURES.fromKeras.path);
    try {
      const inputs = inputsFor(h5.model, h5.file.manifest.architecture!, 3);
      const [fromH5] = predictAll(h5.model, inputs);
      const all = predictAll(converted.model, inputs);
      assert.equal(all.length, 7);
      assert.deepEqual(all[finalOutputIndex(converted.file.manifest.architecture!)], fromH5);
      tf.dispose(inputs);
    } finally {
      h5.model.dispose();
      converted.model.dispose();
      await h5.file.close();
      await converted.file.close();
    }
  });

  it("runs a tfjs-saved functional model with a nested Sequential holding BatchNormalization", async () => {
    const dir = join(scratch, "nested");
    await import("node:fs/promises").then((fs) => fs.mkdir(dir));
    const input = tf.input({ shape: [6], name: "features" });
    const block = tf.sequential({
      name: "block",
      layers: [
        tf.layers.dense({ units: 5, activation: "relu", inputShape: [6], name: "inner_dense" }),
        tf.layers.batchNormalization({ name: "inner_bn" }),
      ],
    });
    const head = tf.layers
      .dense({ units: 2, name: "head" })
      .apply(block.apply(input) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const made = tf.model({ inputs: input, outputs: head });
    let seed = 20;
    for (const w of made.weights) w.write(tf.randomUniform(w.shape as number[], 0.5, 1.5, "float32", seed++));
    const path = await saveWithTfjs(made, dir);
    const ours = await load(path);
    try {
      const spec = ours.file.manifest.architecture!.layers.find((l) => l.name === "block")!;
      assert.deepEqual(spec.weights, [
        "inner_dense/kernel",
        "inner_dense/bias",
        "inner_bn/gamma",
        "inner_bn/beta",
        "inner_bn/moving_mean",
        "inner_bn/moving_variance",
      ]);
      const x = tf.randomUniform([4, 6], -1, 1, "float32", 9);
      const [expected] = predictAll(made, [x]);
      assert.deepEqual(predictAll(ours.model, [x]), [expected]);
      const target = join(dir, "out", "model.json");
      await import("node:fs/promises").then((fs) => fs.mkdir(join(dir, "out")));
      await writeModel(path, target, sourceFromModel(ours));
      const again = await load(target);
      assert.deepEqual(predictAll(again.model, [x]), [expected]);
      again.model.dispose();
      await again.file.close();
      x.dispose();
    } finally {
      made.dispose();
      ours.model.dispose();
      await ours.file.close();
    }
  });

  it("names the final output of a model that exposes every intermediate layer", async () => {
    const { model, file } = await load(TFJS_FIXTURES.fromKeras.path);
    try {
      const architecture = file.manifest.architecture!;
      assert.equal(finalOutputIndex(architecture), 6);
      assert.equal(architecture.outputs[6], "Softmax");
      const single = finalOutputModel(model, architecture);
      assert.equal(single.outputs.length, 1);
      assert.deepEqual(single.outputs[0]!.shape, [null, 10]);
      const x = tf.randomUniform([2, 28, 28], 0, 1, "float32", 5);
      const [last] = predictAll(single, [x]);
      assert.deepEqual(last, predictAll(model, [x])[6]);
      x.dispose();
      assert.equal(finalOutputIndex((await openModel(TFJS_FIXTURES.abalone.path)).manifest.architecture!), 0);
    } finally {
      model.dispose();
      await file.close();
    }
  });

  it("binds variables layer by layer in each layer's own order, not by position in the file", async () => {
    const { model, file } = await load(TFJS_FIXTURES.cnn.path);
    try {
      const bindings = bindWeights(file.manifest, model);
      assert.equal(bindings.length, model.weights.length);
      for (const b of bindings) {
        assert.equal(b.layer, b.tensor.split("/")[0]);
        assert.equal(b.variable.originalName, b.tensor);
        assert.deepEqual(b.variable.read().dataSync(), (await file.readTensor(b.tensor)).data);
      }
    } finally {
      model.dispose();
      await file.close();
    }
  });

  it("refuses a manifest whose weights do not fit the model, naming the layer", async () => {
    const file = await openModel(TFJS_FIXTURES.abalone.path);
    const model = await buildModel(file.manifest);
    try {
      const layers = file.manifest.architecture!.layers.map((l) =>
        l.name === "dense_Dense2" ? { ...l, weights: l.weights.slice(0, 1) } : l,
      );
      const missing = { ...file.manifest, architecture: { ...file.manifest.architecture!, layers } };
      assert.throws(
        () => bindWeights(missing, model),
        /layer "dense_Dense2" \(Dense\) has 1 weights in the file \(dense_Dense2\/kernel\) but 2 in TF\.js/,
      );
      const tensors = file.manifest.tensors.map((t) =>
        t.name === "dense_Dense3/kernel" ? { ...t, shape: [1, 50] } : t,
      );
      assert.throws(
        () => bindWeights({ ...file.manifest, tensors }, model),
        /weight "dense_Dense3\/kernel" of layer "dense_Dense3" has shape \[1, 50\]; TF\.js expects \[50, 1\]/,
      );
    } finally {
      model.dispose();
      await file.close();
    }
  });

  it("refuses to build a model TF.js cannot run faithfully, naming the layer and its class", async () => {
    const manifest = (await openModel(TFJS_FIXTURES.gru.path)).manifest;
    const raw = structuredClone(manifest.architecture!.raw) as {
      config:
        | { layers: { class_name: string; config: Record<string, unknown> }[] }
        | { class_name: string; config: Record<string, unknown> }[];
    };
    const layers = Array.isArray(raw.config) ? raw.config : raw.config.layers;
    const gru = layers.find((l) => l.class_name === "GRU")!;
    gru.config.reset_after = true;
    await assert.rejects(
      buildModel({ ...manifest, architecture: { ...manifest.architecture!, raw } }),
      /e2e_layers_model_embedding_gru\/model\.json: layer "gru_GRU1" \(GRU\) cannot run in TF\.js: it is a GRU with reset_after=true/,
    );
  });
});
