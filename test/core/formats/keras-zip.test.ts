import assert from "node:assert/strict";
import { copyFile, mkdtemp, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unzipSync, zipSync } from "fflate";
import { describeHdf5Layout } from "../../support/hdf5-layout.js";
import { kerasFormat } from "../../../src/core/formats/keras-zip/index.js";
import { readZipEntry, zipEntries } from "../../support/zip.js";
import type { ModelManifest, TensorSource } from "../../../src/core/model.js";
import { elementCount, type Tensor } from "../../../src/core/tensor.js";
import { readAllTensors, rejectsWith, sha256 } from "../../support/model-files.js";

const KERAS3 = "test/fixtures/keras3";
const MLP = ["a", "b", "c"].map((t) => join(KERAS3, `mlp_${t}.keras`));
const CNN = join(KERAS3, "cnn_a.keras");
const NESTED = join(KERAS3, "nested.keras");

function parameters(manifest: ModelManifest): number {
  return manifest.tensors.reduce((sum, t) => sum + elementCount(t.shape), 0);
}

function readAll(path: string): Promise<Map<string, Tensor>> {
  return readAllTensors(path, kerasFormat);
}

/** This process's extraction folders (`model-soup-keras-<pid>-…`): other processes may share the temp folder. */
async function leftoverExtractions(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((n) => n.startsWith(`model-soup-keras-${process.pid}-`));
}

/** Writes a zip holding the given entries (a modified copy of a fixture's entries, for bad-input cases). */
async function writeZip(path: string, entries: Record<string, Uint8Array>): Promise<void> {
  await writeFile(path, zipSync(entries, { level: 0 }));
}

describe("keras (.keras zip) format", () => {
  let dir: string;
  let extractionsBefore: string[];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "keras-zip-test-"));
    extractionsBefore = await leftoverExtractions();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
    assert.deepEqual(await leftoverExtractions(), extractionsBefore, "extracted weights are removed");
  });

  it("detects a .keras zip by content, not a zip of something else", async () => {
    const head = new Uint8Array(await readFile(MLP[0]!)).subarray(0, 4096);
    assert.equal(kerasFormat.detect("renamed.bin", head), true);
    const other = zipSync({ "readme.txt": new Uint8Array([1]) });
    assert.equal(kerasFormat.detect("x.zip", other.subarray(0, 64)), false);
  });

  describe("manifest", () => {
    it("reads a Sequential MLP: tensors named by their path in model.weights.h5, topological order", async () => {
      const m = await kerasFormat.readManifest(MLP[0]!);
      assert.equal(m.format, "keras");
      assert.deepEqual(
        m.tensors.map((t) => `${t.name} ${t.shape.join("x")} ${t.dtype} ${t.layer}`),
        [
          "layers/dense/vars/0 8x16 float32 dense",
          "layers/dense/vars/1 16 float32 dense",
          "layers/dense_1/vars/0 16x3 float32 dense_1",
          "layers/dense_1/vars/1 3 float32 dense_1",
        ],
      );
      assert.equal(parameters(m), 195);
      assert.equal(m.architecture?.modelClass, "Sequential");
      assert.deepEqual(
        m.architecture?.layers.map((l) => l.name),
        ["input_layer", "dense", "dense_1"],
      );
      assert.deepEqual(m.architecture?.layers[2]!.weights, ["layers/dense_1/vars/0", "layers/dense_1/vars/1"]);
      assert.equal(m.metadata.keras_version, "3.5.0");
      assert.equal(m.metadata.date_saved, "2024-09-02@10:20:30");
      assert.equal(m.metadata.optimizer_state, true);
      assert.equal((m.trainingConfig as { loss: string }).loss, "sparse_categorical_crossentropy");
      assert.deepEqual(m.warnings, []);
    });

    it('maps functional layers to groups named by class (the Dense called "logits" is layers/dense)', async () => {
      const m = await kerasFormat.readManifest(CNN);
      const byLayer = Object.fromEntries(m.architecture!.layers.map((l) => [l.name, l.weights]));
      assert.deepEqual(byLayer.logits, ["layers/dense/vars/0", "layers/dense/vars/1"]);
      assert.equal(byLayer.batch_normalization!.length, 4);
      assert.deepEqual(byLayer.max_pooling2d, []);
      assert.equal(parameters(m), 3 * 3 * 4 + 4 + 4 * 4 + 36 * 3 + 3);
    });

    it("reads a Sequential nested in a Functional model under the nested layers/ group", async () => {
      const m = await kerasFormat.readManifest(NESTED);
      assert.deepEqual(m.architecture!.layers.find((l) => l.name === "block")!.weights, [
        "layers/sequential/layers/dense/vars/0",
        "layers/sequential/layers/dense/vars/1",
        "layers/sequential/layers/dense_1/vars/0",
        "layers/sequential/layers/dense_1/vars/1",
      ]);
      assert.deepEqual(
        m.tensors.slice(-2).map((t) => `${t.name} ${t.layer}`),
        ["layers/dense/vars/0 head", "layers/dense/vars/1 head"],
      );
      assert.equal(m.trainingConfig, undefined);
    });
  });

  describe("readTensor", () => {
    it("reads the same values as the legacy .h5 of the same model, and different ones for other seeds", async () => {
      const a = await readAll(MLP[0]!);
      const b = await readAll(MLP[1]!);
      const kernel = a.get("layers/dense/vars/0")!;
      assert.deepEqual(kernel.shape, [8, 16]);
      assert.notDeepEqual(kernel.data, b.get("layers/dense/vars/0")!.data);
      const model = await kerasFormat.open(MLP[0]!);
      try {
        const again = await model.readTensor("layers/dense/vars/0", { float32: true });
        assert.deepEqual(again.data, kernel.data);
        await rejectsWith(model.readTensor("layers/dense/vars/9"), MLP[0]!, /no tensor named/);
      } finally {
        await model.close();
      }
    });
  });

  describe("write", () => {
    const ramp: TensorSource = async (info) =>
      Float32Array.from({ length: elementCount(info.shape) }, (_, i) => i / 100 - 1);

    for (const template of [MLP[2]!, CNN, NESTED]) {
      it(`rewrites ${template.split("/").pop()}: same entries, config and metadata byte-identical, new values, no optimizer`, async () => {
        const before = await sha256(template);
        const target = join(dir, "merged.keras");
        await kerasFormat.write(template, target, ramp);
        assert.equal(await sha256(template), before, "the template is not modified");
        assert.deepEqual(await readdir(dir), ["merged.keras"]);

        const inEntries = zipEntries(template);
        const outEntries = zipEntries(target);
        assert.deepEqual(
          outEntries.map((e) => [e.name, e.method]),
          inEntries.map((e) => [e.name, e.method]),
        );
        for (const name of ["config.json", "metadata.json"]) {
          const a = await readZipEntry(
            template,
            inEntries.find((e) => e.name === name)!,
          );
          const b = await readZipEntry(
            target,
            outEntries.find((e) => e.name === name)!,
          );
          assert.deepEqual(b, a, `${name} is byte-identical`);
        }
        // A second, independent zip reader (fflate) lists the same entries in the same order.
        assert.deepEqual(
          Object.keys(unzipSync(new Uint8Array(await readFile(target)))),
          inEntries.map((e) => e.name),
        );

        const written = await readAll(target);
        const m = await kerasFormat.readManifest(template);
        for (const info of m.tensors) assert.deepEqual(written.get(info.name)!.data, await ramp(info), info.name);
        const out = await kerasFormat.readManifest(target);
        assert.equal(out.metadata.optimizer_state, undefined);
        assert.deepEqual(out.architecture?.raw, m.architecture?.raw);

        const layouts = await Promise.all(
          [template, target].map(async (p) => {
            const weights = join(dir, `${p === target ? "out" : "in"}.weights.h5`);
            const entries = zipEntries(p);
            await writeFile(
              weights,
              await readZipEntry(
                p,
                entries.find((e) => e.name === "model.weights.h5")!,
              ),
            );
            const layout = await describeHdf5Layout(weights);
            await rm(weights);
            return layout;
          }),
        );
        assert.deepEqual(
          layouts[1],
          layouts[0]!.filter((e) => !e.path.startsWith("/optimizer")),
        );
      });
    }

    it("leaves nothing behind when the source fails", async () => {
      const target = join(dir, "failed.keras");
      await assert.rejects(
        kerasFormat.write(MLP[0]!, target, async () => {
          throw new Error("source broke");
        }),
        /source broke/,
      );
      assert.deepEqual(await readdir(dir), []);
    });
  });

  describe("bad input", () => {
    async function fixtureEntries(): Promise<Record<string, Uint8Array>> {
      return unzipSync(new Uint8Array(await readFile(MLP[0]!)));
    }

    it("refuses a .keras without config.json or without model.weights.h5", async () => {
      const entries = await fixtureEntries();
      const noConfig = join(dir, "noconfig.keras");
      const { "config.json": _c, ...withoutConfig } = entries;
      await writeZip(noConfig, withoutConfig);
      await rejectsWith(
        kerasFormat.readManifest(noConfig),
        noConfig,
        /has no config\.json; expected a Keras 3 \.keras zip holding config\.json, metadata\.json and model\.weights\.h5/,
      );
      const noWeights = join(dir, "noweights.keras");
      const { "model.weights.h5": _w, ...withoutWeights } = entries;
      await writeZip(noWeights, withoutWeights);
      await rejectsWith(kerasFormat.readManifest(noWeights), noWeights, /has no model\.weights\.h5/);
    });

    it("refuses zip entries with .. or absolute paths", async () => {
      for (const [label, name] of [
        ["dotdot", "assets/../../evil.txt"],
        ["absolute", "/etc/evil.txt"],
        ["drive", "C:\\evil.txt"],
      ]) {
        const path = join(dir, `${label}.keras`);
        await writeZip(path, { ...(await fixtureEntries()), [name!]: new Uint8Array([1, 2, 3]) });
        await rejectsWith(kerasFormat.readManifest(path), path, /zip entry ".*" with an absolute path or "\.\."/);
      }
    });

    it("refuses a truncated archive and entries that lie beyond the file", async () => {
      const cut = join(dir, "cut.keras");
      await copyFile(MLP[0]!, cut);
      await truncate(cut, 10000);
      await rejectsWith(
        kerasFormat.readManifest(cut),
        cut,
        /not a valid zip archive: no end-of-central-directory record/,
      );

      const bytes = new Uint8Array(await readFile(MLP[0]!));
      const view = new DataView(bytes.buffer);
      // Grow the weights entry's compressed and uncompressed sizes in the central directory beyond the file.
      for (let i = bytes.length - 22; i >= 0; i--) {
        if (
          view.getUint32(i, true) === 0x02014b50 &&
          new TextDecoder().decode(bytes.subarray(i + 46, i + 46 + 16)) === "model.weights.h5"
        ) {
          view.setUint32(i + 20, 50_000_000, true);
          view.setUint32(i + 24, 50_000_000, true);
        }
      }
      const big = join(dir, "big.keras");
      await writeFile(big, bytes);
      await rejectsWith(
        kerasFormat.readManifest(big),
        big,
        /entry "model\.weights\.h5" \(50000000 bytes at \d+\) lies beyond the file's \d+ bytes/,
      );
    });

    it("refuses a weights file whose dataset shape disagrees with config.json", async () => {
      const entries = await fixtureEntries();
      const config = JSON.parse(new TextDecoder().decode(entries["config.json"]));
      config.config.layers[2].config.units = 4;
      const path = join(dir, "units.keras");
      await writeZip(path, { ...entries, "config.json": new TextEncoder().encode(JSON.stringify(config)) });
      await rejectsWith(
        kerasFormat.readManifest(path),
        path,
        /tensor "layers\/dense_1\/vars\/0" of layer "dense_1" \(Dense\) has shape \[16, 3\]; its config expects a kernel of shape \[inputs, 4\]/,
      );
    });

    it("refuses a config whose layers have no group in model.weights.h5", async () => {
      const entries = await fixtureEntries();
      const config = JSON.parse(new TextDecoder().decode(entries["config.json"]));
      config.config.layers[2].class_name = "EinsumDense";
      const path = join(dir, "groups.keras");
      await writeZip(path, { ...entries, "config.json": new TextEncoder().encode(JSON.stringify(config)) });
      await rejectsWith(
        kerasFormat.readManifest(path),
        path,
        /no group "layers\/einsum_dense" in model\.weights\.h5 for layer "dense_1"/,
      );
    });

    it("refuses Lambda layers; reads a model with custom classes by its weights, saying why it cannot run", async () => {
      const entries = await fixtureEntries();
      for (const [label, edit, pattern] of [
        [
          "lambda",
          {
            module: "keras.layers",
            class_name: "Lambda",
            config: { name: "dense", function: { class_name: "__lambda__", config: { code: "4wEAAA" } } },
            registered_name: null,
          },
          /layer "dense" is a Lambda layer/,
        ],
        [
          "custom",
          {
            module: "my_package.layers",
            class_name: "Dense",
            config: { name: "dense", units: 16 },
            registered_name: "Custom>Dense",
          },
          /layer "dense" is of class "Custom>Dense", which is not a built-in Keras layer/,
        ],
      ] as const) {
        const config = JSON.parse(new TextDecoder().decode(entries["config.json"]));
        config.config.layers[1] = edit;
        const path = join(dir, `${label}.keras`);
        await writeZip(path, { ...entries, "config.json": new TextEncoder().encode(JSON.stringify(config)) });
        if (label === "lambda") {
          await rejectsWith(kerasFormat.readManifest(path), path, pattern);
          continue;
        }
        const manifest = await kerasFormat.readManifest(path);
        assert.equal(manifest.architecture, undefined);
        assert.ok(manifest.tensors.length > 0);
        assert.match(manifest.warnings.join("\n"), pattern);
        assert.match(manifest.warnings.join("\n"), /read and merged by its weights only/);
      }
    });

    it("refuses a model.weights.h5 that is not HDF5, and a config.json that is not JSON", async () => {
      const entries = await fixtureEntries();
      const notH5 = join(dir, "noth5.keras");
      await writeZip(notH5, { ...entries, "model.weights.h5": new TextEncoder().encode("not hdf5") });
      await rejectsWith(kerasFormat.readManifest(notH5), notH5, /model\.weights\.h5 is not an HDF5 file/);
      const notJson = join(dir, "notjson.keras");
      await writeZip(notJson, { ...entries, "config.json": new TextEncoder().encode("{oops") });
      await rejectsWith(kerasFormat.readManifest(notJson), notJson, /config\.json that is not valid JSON/);
    });
  });
});
