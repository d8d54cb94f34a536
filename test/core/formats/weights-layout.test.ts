// A weights-only checkpoint given another file's architecture: the real Keras 2.2.2 LeNet weights-only file against
// its full model and its topology JSON, and the checks of names, then weight counts, then shapes.
import assert from "node:assert/strict";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kerasH5Format } from "../../../src/core/formats/keras-h5/index.js";
import { fullModelBeside, readArchitecture } from "../../../src/core/formats/registry.js";
import { layoutMismatch, withArchitecture } from "../../../src/core/formats/weights-layout.js";
import type { ModelManifest } from "../../../src/core/model.js";

const LENET = join("test", "fixtures", "real-models", "tensorspace-converter", "keras_h5_lenet");

describe("weights-only checkpoints given an architecture", () => {
  let dir: string;
  let checkpoint: ModelManifest;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "weights-layout-"));
    await copyFile(join(LENET, "keras222_weightsonly_weights.h5"), join(dir, "epoch-03.hdf5"));
    checkpoint = await kerasH5Format.readManifest(join(dir, "epoch-03.hdf5"));
    assert.equal(checkpoint.architecture, undefined);
  });

  after(() => rm(dir, { recursive: true, force: true }));

  for (const file of ["keras222_full_keras_seq_model.h5", "keras222_weightsonly_topology.json"]) {
    it(`takes the layers of ${file}, each with the checkpoint's own tensors`, async () => {
      const source = await readArchitecture(join(LENET, file));
      const fitted = withArchitecture(checkpoint, source);
      assert.equal(fitted.architecture!.layers.length, source.architecture.layers.length);
      const dense = fitted.architecture!.layers.find((l) => l.name === "Dense_1")!;
      assert.deepEqual(dense.weights, ["Dense_1/kernel:0", "Dense_1/bias:0"]);
      assert.equal(fitted.metadata.architecture, join(LENET, file));
      assert.deepEqual(fitted.tensors, checkpoint.tensors);
      assert.equal(fitted.trainingConfig !== undefined, file.endsWith(".h5"), "the full model's training config");
    });
  }

  it("names the first mismatch: a layer the checkpoint lacks, a weight count, a shape", async () => {
    const source = await readArchitecture(join(LENET, "keras222_full_keras_seq_model.h5"));
    const without = { ...checkpoint, tensors: checkpoint.tensors.filter((t) => t.layer !== "Dense_2") };
    assert.equal(layoutMismatch(without, source), 'it has no weights for layer "Dense_2" (Dense)');
    const noBias = { ...checkpoint, tensors: checkpoint.tensors.filter((t) => t.name !== "Dense_2/bias:0") };
    assert.equal(
      layoutMismatch(noBias, source),
      'layer "Dense_2" (Dense) has 1 weight(s) in it, 2 in the architecture',
    );
    const wider = {
      ...checkpoint,
      tensors: checkpoint.tensors.map((t) => (t.name === "Softmax/bias:0" ? { ...t, shape: [11] } : t)),
    };
    assert.equal(
      layoutMismatch(wider, source),
      'weight "Softmax/bias:0" of layer "Softmax" has shape [11], the architecture\'s [10]',
    );
    assert.throws(
      () => withArchitecture(wider, source),
      (e: Error) =>
        e.message ===
        `${checkpoint.path}: does not fit the architecture of ${source.path}: ${layoutMismatch(wider, source)}`,
    );
  });

  it("finds the full model of the same weights beside the checkpoint, none before it is there", async () => {
    assert.equal(await fullModelBeside(checkpoint), undefined);
    await copyFile(join(LENET, "keras222_full_keras_seq_model.h5"), join(dir, "lenet.h5"));
    assert.equal(await fullModelBeside(checkpoint), join(dir, "lenet.h5"));
  });
});
