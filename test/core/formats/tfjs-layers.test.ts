import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { tfjsLayersFormat } from "../../../src/core/formats/tfjs-layers/index.js";
import { elementCount } from "../../../src/core/tensor.js";
import { TFJS_FIXTURES, copyFixtureFolder, readJson, weightData } from "./tfjs-helpers.js";

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

async function head(path: string): Promise<Uint8Array> {
  return (await readFile(path)).subarray(0, 4096);
}

describe("TF.js layers format: manifests", () => {
  before(async () => {
    await tf.setBackend("cpu");
  });

  it("detects model.json files by content, whatever their name, and nothing else", async () => {
    for (const { path } of Object.values(TFJS_FIXTURES)) {
      assert.equal(tfjsLayersFormat.detect(path, await head(path)), true, path);
    }
    const others = [
      "test/fixtures/real-models/safetensors-jl-fixtures/sharded/model.safetensors.index.json",
      "test/fixtures/real-models/tensorspace-converter/keras_h5_lenet/keras222_weightsonly_topology.json",
      "test/fixtures/real-models/tensorspace-converter/keras_h5_lenet/keras216_full_keras_model.h5",
      "test/fixtures/real-models/tfjs-examples/balance_pr447/model1/model_meta.json",
      "test/fixtures/real-models/safetensors-jl-fixtures/non_sharded/model.safetensors",
    ];
    for (const path of others) assert.equal(tfjsLayersFormat.detect(path, await head(path)), false, path);
  });

  it("counts every fixture's parameters and lists its files", async () => {
    for (const [key, { path, params }] of Object.entries(TFJS_FIXTURES)) {
      const manifest = await tfjsLayersFormat.readManifest(path);
      const total = manifest.tensors.reduce((sum, t) => sum + elementCount(t.shape), 0);
      assert.equal(total, params, key);
      assert.equal(manifest.format, "tfjs-layers");
      assert.equal(manifest.files[0], path);
      assert.equal(manifest.files.length, 2, key);
      assert.ok(manifest.architecture, key);
    }
  });

  it("reads shards without a .bin extension and both modelTopology variants", async () => {
    const fromKeras = await tfjsLayersFormat.readManifest(TFJS_FIXTURES.fromKeras.path);
    assert.match(fromKeras.files[1]!, /group1-shard1of1$/);
    assert.equal(fromKeras.architecture!.modelClass, "Model");
    assert.equal(fromKeras.architecture!.outputs.length, 7);
    assert.equal(fromKeras.metadata.keras_version, "2.2.2");
    const lenetA = await tfjsLayersFormat.readManifest(TFJS_FIXTURES.lenetA.path);
    assert.equal(lenetA.architecture!.modelClass, "Sequential");
    assert.equal(lenetA.metadata.keras_version, "tfjs-layers 0.8.3");
    const translation = await tfjsLayersFormat.readManifest(TFJS_FIXTURES.translation.path);
    assert.equal((translation.trainingConfig as { loss: string }).loss, "categorical_crossentropy");
    assert.deepEqual(translation.architecture!.inputs, ["input_1", "input_2"]);
  });

  it("lists tensors in topological order (the order tfjs's own layers hold their weights), not the file's order", async () => {
    for (const [key, { path }] of Object.entries(TFJS_FIXTURES)) {
      const json = await readJson(path);
      const model = await tf.models.modelFromJSON({
        modelTopology: withZeroInitializers(json.modelTopology) as tf.io.ModelJSON["modelTopology"],
      });
      const expected = model.layers.flatMap((layer) => layer.weights.map((w) => w.originalName));
      model.dispose();
      const manifest = await tfjsLayersFormat.readManifest(path);
      assert.deepEqual(
        manifest.tensors.map((t) => t.name),
        expected,
        key,
      );
      for (const t of manifest.tensors) assert.equal(t.layer, t.name.split("/")[0], key);
    }
    // The converter wrote these alphabetically: dense_1 first, lstm_1 later; batch-norm statistics at the end.
    const file = (await readJson(TFJS_FIXTURES.translation.path)).weightsManifest[0]!.weights.map((w) => w.name);
    assert.equal(file[0], "dense_1/kernel");
    const manifest = await tfjsLayersFormat.readManifest(TFJS_FIXTURES.translation.path);
    assert.equal(manifest.tensors[0]!.name, "lstm_1/kernel");
    assert.deepEqual(manifest.tensors.at(-1)!.name, "dense_1/bias");
  });

  it("fills each layer's weights in the layer's own order", async () => {
    const manifest = await tfjsLayersFormat.readManifest(TFJS_FIXTURES.cnn.path);
    const bn = manifest.architecture!.layers.find((l) => l.className === "BatchNormalization")!;
    assert.deepEqual(
      bn.weights.map((w) => w.split("/")[1]),
      ["gamma", "beta", "moving_mean", "moving_variance"],
    );
    const sep = manifest.architecture!.layers.find((l) => l.className === "SeparableConv2D")!;
    assert.deepEqual(
      sep.weights.map((w) => w.split("/")[1]),
      ["depthwise_kernel", "pointwise_kernel", "bias"],
    );
  });
});

describe("TF.js layers format: reading tensors", () => {
  before(async () => {
    await tf.setBackend("cpu");
  });

  it("reads the same values as tfjs's own weight decoder, for every fixture", async () => {
    for (const [key, { path }] of Object.entries(TFJS_FIXTURES)) {
      const json = await readJson(path);
      const decoded = tf.io.decodeWeights(
        await weightData(path),
        json.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
      );
      const file = await tfjsLayersFormat.open(path);
      try {
        for (const info of file.manifest.tensors) {
          const tensor = await file.readTensor(info.name);
          assert.deepEqual(tensor.shape, info.shape);
          assert.equal(tensor.dtype, "float32");
          assert.deepEqual(tensor.data, decoded[info.name]!.dataSync(), `${key} ${info.name}`);
        }
      } finally {
        await file.close();
        tf.dispose(Object.values(decoded));
      }
    }
  });

  it("reads the weights tf.loadLayersModel loads", async () => {
    for (const key of ["lenetA", "lenetB", "fromKeras", "cnn", "gru", "abalone"] as const) {
      const { path } = TFJS_FIXTURES[key];
      const json = await readJson(path);
      const model = await tf.loadLayersModel(
        tf.io.fromMemory({
          modelTopology: json.modelTopology,
          weightSpecs: json.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
          weightData: await weightData(path),
        }),
      );
      const file = await tfjsLayersFormat.open(path);
      try {
        for (const layer of model.layers) {
          for (const [i, variable] of layer.weights.entries()) {
            const tensor = await file.readTensor(variable.originalName);
            assert.deepEqual(tensor.data, layer.getWeights()[i]!.dataSync(), `${key} ${variable.originalName}`);
          }
        }
      } finally {
        await file.close();
        model.dispose();
      }
    }
  });

  it("reads a tensor that spans shard boundaries", async () => {
    const copy = await copyFixtureFolder(TFJS_FIXTURES.abalone.path);
    try {
      const bytes = await readFile(join(copy.dir, "weights.bin"));
      // Cuts inside dense_Dense1/kernel (bytes 0..1600) and across dense_Dense2/kernel: uneven shards.
      const cuts = [0, 1001, 1803, 7777, bytes.length];
      const paths = [];
      for (let i = 0; i + 1 < cuts.length; i++) {
        paths.push(`part${i}`);
        await writeFile(join(copy.dir, `part${i}`), bytes.subarray(cuts[i], cuts[i + 1]));
      }
      const json = await readJson(copy.path);
      json.weightsManifest[0]!.paths = paths;
      await writeFile(copy.path, JSON.stringify(json));
      const original = await tfjsLayersFormat.open(TFJS_FIXTURES.abalone.path);
      const split = await tfjsLayersFormat.open(copy.path);
      try {
        assert.equal(split.manifest.files.length, 5);
        for (const info of original.manifest.tensors) {
          assert.deepEqual(
            (await split.readTensor(info.name)).data,
            (await original.readTensor(info.name)).data,
            info.name,
          );
        }
      } finally {
        await original.close();
        await split.close();
      }
    } finally {
      await copy.cleanup();
    }
  });

  it("dequantizes uint8, uint16 and float16 weights as tfjs does", async () => {
    const copy = await copyFixtureFolder(TFJS_FIXTURES.abalone.path);
    try {
      const json = await readJson(copy.path);
      const original = await tfjsLayersFormat.open(TFJS_FIXTURES.abalone.path);
      const kinds = ["uint8", "uint16", "float16", "uint8", "uint16", "float16"] as const;
      const chunks: Buffer[] = [];
      const weights = json.weightsManifest[0]!.weights;
      for (const [i, entry] of weights.entries()) {
        const values = (await original.readTensor(entry.name)).data as Float32Array;
        const kind = kinds[i]!;
        if (kind === "float16") {
          // tfjs has no float16 encoder: the test rounds to half precision itself.
          const out = new Uint16Array(values.length);
          for (let j = 0; j < values.length; j++) out[j] = toHalf(values[j]!);
          entry.quantization = { dtype: "float16" };
          chunks.push(Buffer.from(out.buffer));
        } else {
          const min = Math.min(...values);
          const max = Math.max(...values);
          const levels = kind === "uint8" ? 255 : 65535;
          const scale = (max - min) / levels || 1;
          const q = kind === "uint8" ? new Uint8Array(values.length) : new Uint16Array(values.length);
          for (let j = 0; j < values.length; j++) q[j] = Math.round((values[j]! - min) / scale);
          entry.quantization = { dtype: kind, scale, min };
          chunks.push(Buffer.from(q.buffer));
        }
      }
      await original.close();
      await writeFile(join(copy.dir, "weights.bin"), Buffer.concat(chunks));
      await writeFile(copy.path, JSON.stringify(json));
      const decoded = tf.io.decodeWeights(await weightData(copy.path), weights as tf.io.WeightsManifestEntry[]);
      const file = await tfjsLayersFormat.open(copy.path);
      try {
        assert.match(file.manifest.warnings.join(" "), /quantized/);
        for (const entry of weights) {
          const tensor = await file.readTensor(entry.name);
          assert.equal(tensor.dtype, "float32");
          assert.deepEqual(tensor.data, decoded[entry.name]!.dataSync(), entry.name);
        }
      } finally {
        await file.close();
        tf.dispose(Object.values(decoded));
      }
    } finally {
      await copy.cleanup();
    }
  });
});

/** float32 -> float16 bits, round to nearest even (normal range; the test weights are small). */
function toHalf(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (exp <= 0) return sign;
  let half = sign | (exp << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return half;
}
