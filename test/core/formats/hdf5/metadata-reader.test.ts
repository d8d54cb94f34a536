import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bufferSource, fileSource } from "../../../../src/core/io/byte-source.js";
import { Hdf5Metadata, Hdf5Unsupported } from "../../../../src/core/formats/hdf5/metadata-reader.js";
import { h5wasm, h5wasmReady } from "../../../../src/core/formats/hdf5/module.js";
import { openHdf5 } from "../../../../src/core/formats/hdf5/open.js";
import { kerasH5Format } from "../../../../src/core/formats/keras-h5/index.js";
import { type Hdf5Tree, h5wasmTree } from "../../../../src/core/formats/hdf5/tree.js";
import { readKerasH5 } from "../../../../src/core/formats/keras-h5/read.js";
import { readKerasArchive, readKerasWeights } from "../../../../src/core/formats/keras-zip/read.js";
import { readZipEntry } from "../../../support/zip.js";

const FIXTURES = "test/fixtures";

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)])),
  );
  return nested.flat().sort();
}

/** Every group, dataset header and attribute value of a tree, in a comparable form. */
function describe_(tree: Hdf5Tree): unknown[] {
  const out: unknown[] = [];
  const visit = (path: string) => {
    const kind = tree.kind(path);
    const attributes = Object.fromEntries(
      tree
        .attributeNames(path)
        .sort()
        .map((n) => [n, tree.attribute(path, n)]),
    );
    if (kind === "group") {
      const keys = tree.keys(path);
      out.push({ path, kind, keys, attributes });
      for (const key of keys) visit(path === "/" ? `/${key}` : `${path}/${key}`);
    } else {
      out.push({ path, kind, attributes, header: kind === "dataset" ? tree.dataset(path) : undefined });
    }
  };
  visit("/");
  return out;
}

describe("HDF5 metadata reader (pure JS)", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "hdf5-metadata-test-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads every Keras .h5 fixture exactly as h5wasm does: groups, key order, dataset headers, attribute values", async () => {
    const files = (await walk(FIXTURES)).filter((p) => /\.h5$/i.test(p));
    assert.ok(files.length >= 7, `found ${files.length} .h5 fixtures`);
    for (const path of files) {
      const h5 = await openHdf5(path);
      const js = Hdf5Metadata.open(fileSource(path));
      try {
        assert.deepEqual(describe_(js), describe_(h5wasmTree(h5)), path);
      } finally {
        js.close();
        h5.close();
      }
    }
  });

  it("reads model.weights.h5 inside every .keras fixture in place, as h5wasm reads the extracted copy", async () => {
    const files = (await walk(FIXTURES)).filter((p) => /\.keras$/i.test(p));
    assert.ok(files.length >= 5);
    for (const path of files) {
      const archive = await readKerasArchive(path);
      const extracted = join(dir, "model.weights.h5");
      await writeFile(extracted, await readZipEntry(path, archive.weights));
      const h5 = await openHdf5(extracted);
      const inPlace = Hdf5Metadata.open(fileSource(path, archive.weights.dataOffset, archive.weights.size));
      try {
        assert.deepEqual(describe_(inPlace), describe_(h5wasmTree(h5)), path);
        const expected = await readKerasWeights(
          path,
          await readKerasArchive(path),
          h5wasmTree(h5),
          archive.weights.size,
        );
        const actual = await readKerasWeights(path, await readKerasArchive(path), inPlace, archive.weights.size);
        assert.deepEqual(actual, expected, path);
      } finally {
        inPlace.close();
        h5.close();
      }
    }
  });

  it("gives the Keras .h5 reader the same manifests and dataset infos as h5wasm", async () => {
    const files = (await walk(FIXTURES)).filter((p) => /\.h5$/i.test(p));
    for (const path of files) {
      const bytes = (await stat(path)).size;
      const h5 = await openHdf5(path);
      const js = Hdf5Metadata.open(fileSource(path));
      try {
        const expected = await readKerasH5(path, h5wasmTree(h5), bytes).catch((e: unknown) => String(e));
        const actual = await readKerasH5(path, js, bytes).catch((e: unknown) => String(e));
        assert.deepEqual(actual, expected, path);
      } finally {
        js.close();
        h5.close();
      }
    }
  });

  it("reads a sub-range of a larger file in 64 KiB pages, giving the same tree", async () => {
    const path = "test/fixtures/real-models/tensorspace-converter/keras_h5_lenet/keras216_full_keras_model.h5";
    const bytes = new Uint8Array(await readFile(path));
    const padded = join(dir, "padded.bin");
    // 100 KiB (not a page multiple) before the file: read as a sub-range, page by page.
    const offset = 100 * 1024 + 123;
    const whole = new Uint8Array(offset + bytes.length);
    whole.set(bytes, offset);
    await writeFile(padded, whole);
    const paged = Hdf5Metadata.open(fileSource(padded, offset, bytes.length, 0));
    const inMemory = Hdf5Metadata.open(bufferSource(bytes));
    try {
      assert.deepEqual(describe_(paged), describe_(inMemory));
    } finally {
      paged.close();
    }
  });

  it("declines, rather than guesses, a file it cannot decode: truncated, no signature, damaged header", async () => {
    const path = "test/fixtures/keras3/mlp_a_legacy.h5";
    const bytes = new Uint8Array(await readFile(path));
    assert.throws(() => Hdf5Metadata.open(bufferSource(bytes.subarray(0, bytes.length - 100))), Hdf5Unsupported);
    const unsigned = bytes.slice();
    unsigned[1] = 0;
    assert.throws(() => Hdf5Metadata.open(bufferSource(unsigned)), Hdf5Unsupported);
    const tree = Hdf5Metadata.open(bufferSource(bytes));
    const root = describe_(tree);
    assert.ok(root.length > 3);
    // Zero the root object header (superblock v0, 8-byte addresses: its address is at byte 64).
    assert.deepEqual([bytes[8], bytes[13]], [0, 8]);
    const damaged = bytes.slice();
    const rootAt = Number(new DataView(damaged.buffer).getBigUint64(64, true));
    damaged.fill(0, rootAt, rootAt + 16);
    assert.throws(() => describe_(Hdf5Metadata.open(bufferSource(damaged))), Hdf5Unsupported);
  });

  it("leaves a layout it does not decode (HDF5 1.10+ superblock, new-style groups) to h5wasm, manifest intact", async () => {
    await h5wasmReady();
    const path = join(dir, "latest-weights.h5");
    const file = new h5wasm.File(path, "w", { libver: "latest" });
    file.create_attribute("layer_names", ["dense"]);
    const group = file.create_group("dense");
    group.create_attribute("weight_names", ["kernel:0", "bias:0"]);
    group.create_dataset({ name: "kernel:0", data: new Float32Array(6), shape: [2, 3] });
    group.create_dataset({ name: "bias:0", data: new Float32Array(3), shape: [3] });
    file.close();
    assert.throws(() => describe_(Hdf5Metadata.open(fileSource(path))), Hdf5Unsupported);
    const manifest = await kerasH5Format.readManifest(path);
    assert.deepEqual(
      manifest.tensors.map((t) => [t.name, t.shape, t.dtype, t.layer]),
      [
        ["kernel:0", [2, 3], "float32", "dense"],
        ["bias:0", [3], "float32", "dense"],
      ],
    );
    assert.equal(manifest.metadata.kind, "weights-only");
  });
});
