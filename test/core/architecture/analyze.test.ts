import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { analyzeModels } from "../../../src/core/architecture/analyze.js";
import { nameMapping } from "../../../src/core/architecture/compatibility.js";
import { readManifest } from "../../../src/core/formats/registry.js";

const REAL = join("test", "fixtures", "real-models");
const LENET_H5 = join(REAL, "tensorspace-converter", "keras_h5_lenet");
const KERAS3 = join("test", "fixtures", "keras3");

describe("analyzeModels on the fixture files (real ones, and the generated Keras 3 ones)", () => {
  it("groups the Keras 2 LeNets (full, weights-only, tf.keras) with their TF.js copies, mapping names by topology", async () => {
    const paths = [
      join(LENET_H5, "keras216_full_keras_model.h5"),
      join(LENET_H5, "keras222_full_keras_seq_model.h5"),
      join(LENET_H5, "keras222_weightsonly_weights.h5"),
      join(LENET_H5, "tfkeras216_full_tf_keras_model.h5"),
      join(REAL, "tensorspace-converter", "tfjs_from_keras_lenet", "tfkeras_converted", "model.json"),
    ];
    const analysis = await analyzeModels(paths);
    assert.deepEqual(analysis.unreadable, []);
    assert.equal(analysis.groups.length, 1);
    assert.deepEqual(
      analysis.models.map((m) => [m.format, m.parameters, m.status]),
      [
        ["keras-h5", 44426, "compatible"],
        ["keras-h5", 44426, "compatible"],
        ["keras-h5", 44426, "compatible"],
        ["keras-h5", 44426, "compatible-by-structure"],
        ["tfjs-layers", 44426, "compatible-by-structure"],
      ],
    );
    assert.deepEqual(analysis.models[3]!.mapping![4], { from: "dense_1/kernel:0", to: "Dense_1/kernel:0" });
    assert.deepEqual(analysis.models[4]!.mapping![4], { from: "dense_1/kernel", to: "Dense_1/kernel:0" });
    // The tf.keras file and the TF.js copy of it name layers alike; only the ":0" suffix differs.
    const mapping = nameMapping(await readManifest(paths[4]!), await readManifest(paths[3]!));
    assert.equal(mapping.get("softmax/bias"), "softmax/bias:0");
  });

  it("puts Keras 3 .keras files with their legacy .h5 twins and keeps other architectures apart", async () => {
    const names = ["mlp_a.keras", "mlp_b_legacy.h5", "mlp_c.keras", "cnn_a.keras", "cnn_b.keras"];
    const analysis = await analyzeModels(names.map((n) => join(KERAS3, n)));
    assert.deepEqual(analysis.unreadable, []);
    assert.deepEqual(
      analysis.models.map((m) => m.group),
      ["g1", "g1", "g1", "g2", "g2"],
    );
    assert.deepEqual(
      analysis.models.map((m) => m.status),
      ["compatible", "compatible-by-structure", "compatible", "compatible", "compatible"],
    );
    assert.equal(analysis.incompatible.length, 1);
    assert.match(analysis.incompatible[0]!.reason, /mlp_a\.keras|cnn_a\.keras/);
  });

  describe("with unreadable files", () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "model-soup-analyze-"));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("keeps each unreadable file with an error naming it, and groups the rest", async () => {
      const junk = join(dir, "model.safetensors");
      await writeFile(junk, Buffer.from([1, 2, 3]));
      const good = join(REAL, "tfjs-examples", "abalone-node", "model.json");
      const analysis = await analyzeModels([junk, good, join(dir, "absent.keras")]);
      assert.deepEqual(
        analysis.models.map((m) => m.path),
        [good],
      );
      assert.deepEqual(
        analysis.unreadable.map((u) => u.path),
        [junk, join(dir, "absent.keras")],
      );
      for (const u of analysis.unreadable) assert.ok(u.error.startsWith(u.path), u.error);
    });
  });
});
