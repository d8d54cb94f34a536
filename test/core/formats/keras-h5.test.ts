import assert from "node:assert/strict";
import { copyFile, mkdtemp, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeHdf5Layout } from "../../support/hdf5-layout.js";
import { h5wasm, h5wasmReady } from "../../../src/core/formats/hdf5/module.js";
import { kerasH5Format } from "../../../src/core/formats/keras-h5/index.js";
import { kerasFormat } from "../../../src/core/formats/keras-zip/index.js";
import type { ModelFormat, ModelManifest, TensorSource } from "../../../src/core/model.js";
import { elementCount, type Tensor } from "../../../src/core/tensor.js";
import { readAllTensors, rejectsWith, sha256 } from "../../support/model-files.js";

const LENET = "test/fixtures/real-models/tensorspace-converter/keras_h5_lenet";
const FULL = [
  "keras216_full_keras_model.h5",
  "keras222_full_keras_seq_model.h5",
  "tfkeras216_full_tf_keras_model.h5",
].map((f) => join(LENET, f));
const WEIGHTS_ONLY = join(LENET, "keras222_weightsonly_weights.h5");
const KERAS3 = "test/fixtures/keras3";

function parameters(manifest: ModelManifest): number {
  return manifest.tensors.reduce((sum, t) => sum + elementCount(t.shape), 0);
}

function readAll(path: string, format: ModelFormat = kerasH5Format): Promise<Map<string, Tensor>> {
  return readAllTensors(path, format);
}

/** Edits a copy of an HDF5 file with h5wasm: replaces (or adds) a string attribute. */
async function setStringAttribute(
  path: string,
  objectPath: string,
  name: string,
  value: string | string[],
): Promise<void> {
  await h5wasmReady();
  const file = new h5wasm.File(path, "a");
  try {
    const target = objectPath === "/" ? file : file.get(objectPath);
    if (!target || !("attrs" in target)) throw new Error(`no object ${objectPath}`);
    if (target.attrs[name]) target.delete_attribute(name);
    target.create_attribute(name, value);
    file.flush();
  } finally {
    file.close();
  }
}

describe("keras-h5 format", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "keras-h5-test-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe("detect", () => {
    it("claims HDF5 content whatever the name, and not zips", async () => {
      const head = new Uint8Array(await readFile(FULL[0]!)).subarray(0, 4096);
      assert.equal(kerasH5Format.detect("model.bin", head), true);
      assert.equal(kerasH5Format.detect("model.h5", new TextEncoder().encode("PK\u0003\u0004 not hdf5")), false);
    });
  });

  describe("manifest of real Keras 2 files", () => {
    for (const path of FULL) {
      it(`reads ${path.split("/").pop()}: LeNet-5, 44,426 parameters, topological order`, async () => {
        const m = await kerasH5Format.readManifest(path);
        assert.equal(m.format, "keras-h5");
        assert.deepEqual(m.files, [path]);
        assert.equal(parameters(m), 44426);
        assert.equal(m.tensors.length, 10);
        assert.deepEqual(
          m.tensors.map((t) => t.shape),
          [[5, 5, 1, 6], [6], [5, 5, 6, 16], [16], [256, 120], [120], [120, 84], [84], [84, 10], [10]],
        );
        assert.ok(m.tensors.every((t) => t.dtype === "float32" && t.name.startsWith(`${t.layer}/`)));
        assert.equal(m.architecture?.modelClass, "Sequential");
        const withWeights = m.architecture!.layers.filter((l) => l.weights.length > 0);
        assert.deepEqual(
          withWeights.flatMap((l) => l.weights),
          m.tensors.map((t) => t.name),
        );
        assert.equal(m.metadata.backend, "tensorflow");
        assert.match(String(m.metadata.keras_version), /^2\.(1\.6|2\.2)/);
        assert.equal(m.metadata.optimizer_state, true);
        assert.equal(
          (m.trainingConfig as { optimizer_config: { class_name: string } }).optimizer_config.class_name,
          "Adam",
        );
      });
    }

    it("names tensors by weight_names, e.g. Conv2D_1/kernel:0 (keras216) and conv_1/kernel:0 (tf.keras)", async () => {
      assert.equal((await kerasH5Format.readManifest(FULL[0]!)).tensors[0]!.name, "Conv2D_1/kernel:0");
      assert.equal((await kerasH5Format.readManifest(FULL[2]!)).tensors[0]!.name, "conv_1/kernel:0");
    });

    it("reads the weights-only file with its sibling topology JSON", async () => {
      const m = await kerasH5Format.readManifest(WEIGHTS_ONLY);
      assert.deepEqual(m.files, [WEIGHTS_ONLY, join(LENET, "keras222_weightsonly_topology.json")]);
      assert.equal(m.metadata.kind, "weights-only");
      assert.equal(parameters(m), 44426);
      assert.equal(
        m.architecture?.layers.find((l) => l.name === "Dense_1")?.weights.join(),
        "Dense_1/kernel:0,Dense_1/bias:0",
      );
      assert.deepEqual(m.warnings, []);
    });

    it("reads a weights-only file without topology, saying the architecture is unknown", async () => {
      const lone = join(dir, "lonely.h5");
      await copyFile(WEIGHTS_ONLY, lone);
      const m = await kerasH5Format.readManifest(lone);
      assert.equal(m.architecture, undefined);
      assert.equal(parameters(m), 44426);
      assert.match(m.warnings.join(), /without a topology JSON/);
    });

    it("finds the topology by the file's stem, and ignores a JSON whose layers do not match", async () => {
      await copyFile(WEIGHTS_ONLY, join(dir, "run7.weights.h5"));
      await copyFile(join(LENET, "keras222_weightsonly_topology.json"), join(dir, "run7.json"));
      assert.equal((await kerasH5Format.readManifest(join(dir, "run7.weights.h5"))).files[1], join(dir, "run7.json"));
      const topology = JSON.parse(await readFile(join(LENET, "keras222_weightsonly_topology.json"), "utf8"));
      const text = JSON.stringify(topology).replaceAll("Dense_1", "Renamed");
      await writeFile(join(dir, "run7.json"), text);
      const m = await kerasH5Format.readManifest(join(dir, "run7.weights.h5"));
      assert.equal(m.architecture, undefined);
      assert.match(m.warnings.join(), /run7\.json .* not used: it has no layer named "Dense_1"/);
    });
  });

  describe("readTensor", () => {
    it("the weights-only file holds the same weights as keras216_full (as its provenance says)", async () => {
      const a = await readAll(FULL[0]!);
      const b = await readAll(WEIGHTS_ONLY);
      assert.equal(a.size, 10);
      for (const [name, tensor] of a) {
        assert.deepEqual(b.get(name)?.shape, tensor.shape);
        assert.deepEqual(b.get(name)?.data, tensor.data, name);
      }
      // and differs from another training of the same architecture
      const c = await readAll(FULL[1]!);
      assert.notDeepEqual(c.get("Dense_1/kernel:0")?.data, a.get("Dense_1/kernel:0")?.data);
    });

    it("reads one tensor with its declared shape, and refuses an unknown name", async () => {
      const model = await kerasH5Format.open(FULL[0]!);
      try {
        const t = await model.readTensor("Dense_2/kernel:0", { float32: true });
        assert.deepEqual(t.shape, [120, 84]);
        assert.ok(t.data instanceof Float32Array && t.data.length === 120 * 84);
        assert.ok(t.data.some((v) => v !== 0));
        await rejectsWith(model.readTensor("nope"), FULL[0]!, /no tensor named "nope"/);
      } finally {
        await model.close();
      }
    });
  });

  describe("Keras 3 legacy .h5 (fixtures made by our script)", () => {
    it("reads variable-length weight_names and the Keras 3 layer/variable names", async () => {
      const m = await kerasH5Format.readManifest(join(KERAS3, "mlp_a_legacy.h5"));
      assert.deepEqual(
        m.tensors.map((t) => `${t.name} ${t.shape.join("x")} ${t.layer}`),
        ["dense/kernel 8x16 dense", "dense/bias 16 dense", "dense_1/kernel 16x3 dense_1", "dense_1/bias 3 dense_1"],
      );
      assert.equal(m.metadata.keras_version, "3.5.0");
      assert.equal((m.trainingConfig as { loss: string }).loss, "sparse_categorical_crossentropy");
    });

    it("holds the same values as the .keras file of the same model", async () => {
      const legacy = await readAll(join(KERAS3, "mlp_b_legacy.h5"));
      const native = await readAll(join(KERAS3, "mlp_b.keras"), kerasFormat);
      assert.deepEqual(
        [...legacy.values()].map((t) => t.data),
        [...native.values()].map((t) => t.data),
      );
    });
  });

  describe("write", () => {
    const halve: TensorSource = async (info) => {
      const values = new Float32Array(elementCount(info.shape));
      for (let i = 0; i < values.length; i++) values[i] = (i % 7) * 0.25 - 0.5;
      return values;
    };

    async function roundTrip(template: string): Promise<string> {
      const before = await sha256(template);
      const target = join(dir, "merged.h5");
      await kerasH5Format.write(template, target, halve);
      assert.equal(await sha256(template), before, "the template is not modified");
      assert.deepEqual(await readdir(dir), ["merged.h5"], "no temporary file is left");
      const written = await readAll(target);
      const templateManifest = await kerasH5Format.readManifest(template);
      for (const info of templateManifest.tensors) {
        assert.deepEqual(written.get(info.name)?.data, await halve(info), info.name);
        assert.deepEqual(written.get(info.name)?.shape, info.shape);
      }
      const withoutOptimizer = (await describeHdf5Layout(template)).filter(
        (e) => !e.path.startsWith("/optimizer_weights"),
      );
      assert.deepEqual(
        await describeHdf5Layout(target),
        withoutOptimizer,
        "same groups, datasets, attributes and string types",
      );
      return target;
    }

    it("rewrites a Keras 2 full model in place: new values, same layout, optimizer state dropped", async () => {
      const target = await roundTrip(FULL[0]!);
      const m = await kerasH5Format.readManifest(target);
      assert.equal(m.metadata.optimizer_state, undefined);
      assert.ok((await describeHdf5Layout(FULL[0]!)).some((e) => e.path === "/optimizer_weights"));
      assert.ok(!(await describeHdf5Layout(target)).some((e) => e.path.startsWith("/optimizer_weights")));
      assert.deepEqual(m.trainingConfig, (await kerasH5Format.readManifest(FULL[0]!)).trainingConfig);
    });

    it("rewrites the weights-only file and a Keras 3 legacy file", async () => {
      await roundTrip(WEIGHTS_ONLY);
      await rm(join(dir, "merged.h5"));
      await roundTrip(join(KERAS3, "mlp_c_legacy.h5"));
    });

    it("keeps the template's values where the source gives none", async () => {
      const target = join(dir, "same.h5");
      await kerasH5Format.write(FULL[1]!, target, async () => undefined);
      const a = await readAll(FULL[1]!);
      const b = await readAll(target);
      for (const [name, t] of a) assert.deepEqual(b.get(name)?.data, t.data);
    });

    it("leaves nothing behind when the source gives a tensor of the wrong size", async () => {
      const target = join(dir, "bad.h5");
      await rejectsWith(
        kerasH5Format.write(FULL[0]!, target, async (info) => new Float32Array(elementCount(info.shape) + 1)),
        FULL[0]!,
        /has shape \[5, 5, 1, 6\] \(150 values\); the merged data has 151/,
      );
      assert.deepEqual(await readdir(dir), []);
    });
  });

  describe("bad input", () => {
    it("refuses a truncated file, saying how long it should be", async () => {
      const path = join(dir, "cut.h5");
      await copyFile(FULL[0]!, path);
      await truncate(path, 300000);
      await rejectsWith(
        kerasH5Format.readManifest(path),
        path,
        /truncated: its HDF5 superblock records 575480 bytes, the file has 300000/,
      );
    });

    it("refuses a file without the HDF5 signature", async () => {
      const path = join(dir, "fake.h5");
      await writeFile(path, "this is not an HDF5 file at all, just text");
      await rejectsWith(kerasH5Format.readManifest(path), path, /not an HDF5 file: the HDF5 signature/);
    });

    it("refuses an HDF5 file that is not a Keras model", async () => {
      await h5wasmReady();
      const path = join(dir, "other.h5");
      const f = new h5wasm.File(path, "w");
      f.create_dataset({ name: "x", data: new Float32Array([1, 2, 3]) });
      f.close();
      await rejectsWith(kerasH5Format.readManifest(path), path, /not a Keras model: expected a model_weights group/);
    });

    it("refuses a dataset whose shape disagrees with the model config", async () => {
      const path = join(dir, "units.h5");
      await copyFile(join(KERAS3, "mlp_a_legacy.h5"), path);
      const config = (await kerasH5Format.readManifest(path)).architecture!.raw as {
        config: { layers: { config: { units?: number } }[] };
      };
      config.config.layers[1]!.config.units = 17;
      await setStringAttribute(path, "/", "model_config", JSON.stringify(config));
      await rejectsWith(
        kerasH5Format.readManifest(path),
        path,
        /tensor "dense\/kernel" of layer "dense" \(Dense\) has shape \[8, 16\]; its config expects a kernel of shape \[inputs, 17\]/,
      );
    });

    it("refuses weight_names that point to a missing dataset", async () => {
      const path = join(dir, "missing.h5");
      await copyFile(FULL[0]!, path);
      await setStringAttribute(path, "/model_weights/Dense_1", "weight_names", ["Dense_1/kernel:0", "Dense_1/gone:0"]);
      await rejectsWith(
        kerasH5Format.readManifest(path),
        path,
        /layer "Dense_1" lists weight "Dense_1\/gone:0" .* no dataset at "\/model_weights\/Dense_1\/Dense_1\/gone:0"/,
      );
    });

    it("refuses Lambda layers; reads a model with custom classes by its weights, saying why it cannot run", async () => {
      const raw = (await kerasH5Format.readManifest(FULL[0]!)).architecture!.raw as {
        config: { class_name: string; config: Record<string, unknown> }[];
      };
      const lambda = structuredClone(raw);
      lambda.config[2] = { class_name: "Lambda", config: { name: "Conv2D_1", function: ["4wEAAAAAAAAA", null, null] } };
      const custom = structuredClone(raw);
      custom.config[2] = { class_name: "MyFancyConv", config: { name: "Conv2D_1" } };
      for (const [label, config, pattern] of [
        ["lambda", lambda, /layer "Conv2D_1" is a Lambda layer/],
        ["custom", custom, /layer "Conv2D_1" is of class "MyFancyConv", which is not a built-in Keras layer/],
      ] as const) {
        const path = join(dir, `${label}.h5`);
        await copyFile(FULL[0]!, path);
        await setStringAttribute(path, "/", "model_config", JSON.stringify(config));
        if (label === "lambda") {
          await rejectsWith(kerasH5Format.readManifest(path), path, pattern);
          continue;
        }
        const manifest = await kerasH5Format.readManifest(path);
        assert.equal(manifest.architecture, undefined);
        assert.ok(manifest.tensors.length > 0);
        assert.match(manifest.warnings.join("\n"), pattern);
        assert.match(manifest.warnings.join("\n"), /read and merged by its weights only/);
      }
    });

    it("refuses a dataset that declares more bytes than the file holds", async () => {
      const path = join(dir, "huge.h5");
      const bytes = new Uint8Array(await readFile(FULL[0]!));
      // Dense_1's kernel dataspace, [256, 120] as two little-endian 64-bit dims; make it [256 * 2^20, 120].
      const dims = new Uint8Array(16);
      new DataView(dims.buffer).setBigUint64(0, 256n, true);
      new DataView(dims.buffer).setBigUint64(8, 120n, true);
      let patched = 0;
      for (let i = 0; i + 16 <= bytes.length; i++) {
        if (dims.every((b, k) => bytes[i + k] === b)) {
          new DataView(bytes.buffer).setBigUint64(i, 256n << 20n, true);
          patched++;
        }
      }
      assert.ok(patched > 0);
      await writeFile(path, bytes);
      await rejectsWith(
        kerasH5Format.readManifest(path),
        path,
        /"\/model_weights\/Dense_1\/Dense_1\/kernel:0" .*(invalid dataset size|more than the file)/,
      );
    });
  });
});
