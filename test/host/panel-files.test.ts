import assert from "node:assert/strict";
import { copyFile, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readManifest } from "../../src/core/formats/registry.js";
import { checkArchitectureFile, checkTestRows } from "../../src/host/panel-files.js";

const LENET_H5 = join("test", "fixtures", "real-models", "tensorspace-converter", "keras_h5_lenet");
const TOPOLOGY = join(LENET_H5, "keras222_weightsonly_topology.json");
const FULL = join(LENET_H5, "keras222_full_keras_seq_model.h5");
const OTHER = join("test", "fixtures", "real-models", "tfjs-examples");

describe("host/panel-files (the Merge panel's architecture and test-rows choices)", () => {
  let dir: string;
  /** The LeNet weights-only checkpoint alone in a folder: without its topology beside it, it records no architecture. */
  let WEIGHTS_ONLY: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "panel-files-"));
    WEIGHTS_ONLY = join(dir, "epoch_03.weights.h5");
    await copyFile(join(LENET_H5, "keras222_weightsonly_weights.h5"), WEIGHTS_ONLY);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("takes a full model of the same weights layout as the architecture of a weights-only checkpoint", async () => {
    const ingredient = await readManifest(WEIGHTS_ONLY);
    assert.equal(ingredient.architecture, undefined, "the fixture records no architecture");
    const manifest = await checkArchitectureFile(FULL, ingredient);
    assert.ok(manifest?.architecture);
  });

  it("refuses a file with no architecture, naming it; a bare topology JSON is left to the worker", async () => {
    const ingredient = await readManifest(WEIGHTS_ONLY);
    await assert.rejects(checkArchitectureFile(WEIGHTS_ONLY, ingredient), (e: Error) => {
      assert.match(e.message, /epoch_03\.weights\.h5 records no architecture either: expected a full model/);
      return true;
    });
    assert.equal(await checkArchitectureFile(TOPOLOGY, ingredient), undefined);
  });

  it("refuses a model whose weights do not match the ingredients'", async () => {
    const ingredient = await readManifest(WEIGHTS_ONLY);
    const other = (await readdir(OTHER, { recursive: true })).find((f) => String(f).endsWith("model.json"));
    assert.ok(other, "a TF.js model of another architecture among the fixtures");
    await assert.rejects(
      checkArchitectureFile(join(OTHER, String(other)), ingredient),
      /does not hold the ingredients' weights layout/,
    );
  });

  it("counts the user's test rows, and refuses rows that do not fit the model's input, naming the file", async () => {
    const full = await readManifest(FULL);
    const header = [...Array.from({ length: 784 }, (_, i) => `p${i}`), "label"].join(",");
    const row = (k: number) => [...Array.from({ length: 784 }, () => "0.5"), String(k % 10)].join(",");
    const good = join(dir, "test-rows.csv");
    await writeFile(good, [header, row(1), row(2), row(3)].join("\n") + "\n");
    assert.equal(await checkTestRows(good, "label", full), 3);
    const narrow = join(dir, "narrow.csv");
    await writeFile(narrow, "a,b,label\n1,2,0\n3,4,1\n");
    assert.equal(
      await checkTestRows(narrow, "label", undefined),
      2,
      "without a model that declares its input: read only",
    );
    await assert.rejects(checkTestRows(narrow, "label", full), (e: Error) => {
      assert.match(e.message, /narrow\.csv/);
      return true;
    });
  });
});
