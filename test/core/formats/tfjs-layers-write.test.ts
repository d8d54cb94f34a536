import assert from "node:assert/strict";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { bytesOf, fromFloat32 } from "../../../src/core/convert.js";
import { ModelFileError } from "../../../src/core/errors.js";
import { tfjsLayersFormat } from "../../../src/core/formats/tfjs-layers/index.js";
import { writeModel } from "../../../src/core/formats/registry.js";
import type { TensorInfo } from "../../../src/core/tensor.js";
import { TFJS_FIXTURES, copyFixtureFolder, readJson, scratchDir, weightData } from "./tfjs-helpers.js";

const keep = async (): Promise<undefined> => undefined;

async function sameTensors(a: string, b: string, transform = (v: number) => v): Promise<void> {
  const fa = await tfjsLayersFormat.open(a);
  const fb = await tfjsLayersFormat.open(b);
  try {
    assert.deepEqual(fb.manifest.tensors, fa.manifest.tensors);
    for (const info of fa.manifest.tensors) {
      const expected = Float32Array.from((await fa.readTensor(info.name)).data as Float32Array, transform);
      assert.deepEqual((await fb.readTensor(info.name)).data, expected, info.name);
    }
  } finally {
    await fa.close();
    await fb.close();
  }
}

describe("TF.js layers format: writing", () => {
  it("writes a model.json identical to the template but for its shard paths, and the same bytes when nothing changes", async () => {
    const out = await scratchDir();
    try {
      for (const [key, { path }] of Object.entries(TFJS_FIXTURES)) {
        const target = join(out.dir, key, "model.json");
        await mkdir(dirname(target));
        await tfjsLayersFormat.write(path, target, keep);
        const template = await readJson(path);
        const written = await readJson(target);
        assert.deepEqual(
          written.weightsManifest.map((g) => g.paths),
          [["group1-shard1of1.bin"]],
          key,
        );
        assert.deepEqual({ ...written, weightsManifest: null }, { ...template, weightsManifest: null }, key);
        assert.deepEqual(written.weightsManifest[0]!.weights, template.weightsManifest[0]!.weights, key);
        assert.deepEqual(
          await readFile(join(out.dir, key, "group1-shard1of1.bin")),
          Buffer.from(await weightData(path)),
          key,
        );
        await sameTensors(path, target);
      }
    } finally {
      await out.cleanup();
    }
  });

  it("writes the source's values, asking for each tensor once in the template's entry order", async () => {
    const out = await scratchDir();
    try {
      const template = TFJS_FIXTURES.translation.path;
      const reader = await tfjsLayersFormat.open(template);
      const seen: string[] = [];
      const source = async (info: TensorInfo) => {
        seen.push(info.name);
        const values = (await reader.readTensor(info.name)).data as Float32Array;
        return Float32Array.from(values, (v) => v * 2);
      };
      const target = join(out.dir, "soup.json");
      await tfjsLayersFormat.write(template, target, source);
      await reader.close();
      // Every tensor asked for once, in the file's (alphabetical) order, where its bytes go.
      const entries = (await readJson(template)).weightsManifest[0]!.weights.map((w) => w.name);
      assert.deepEqual(seen, entries);
      assert.deepEqual((await readJson(target)).weightsManifest[0]!.paths, ["soup.group1-shard1of1.bin"]);
      assert.deepEqual((await readdir(out.dir)).sort(), ["soup.group1-shard1of1.bin", "soup.json"]);
      await sameTensors(template, target, (v) => v * 2);
    } finally {
      await out.cleanup();
    }
  });

  it("keeps the template's shard grouping and size when a group spans several shards", async () => {
    const copy = await copyFixtureFolder(TFJS_FIXTURES.abalone.path);
    try {
      const bytes = await readFile(join(copy.dir, "weights.bin"));
      const size = 4096;
      const paths = [];
      for (let i = 0; i * size < bytes.length; i++) paths.push(`group1-shard${i + 1}of3`);
      for (const [i, p] of paths.entries())
        await writeFile(join(copy.dir, p), bytes.subarray(i * size, (i + 1) * size));
      const json = await readJson(copy.path);
      json.weightsManifest[0]!.paths = paths;
      await writeFile(copy.path, JSON.stringify(json));
      const target = join(copy.dir, "merged", "model.json");
      await mkdir(dirname(target));
      await tfjsLayersFormat.write(copy.path, target, keep);
      const written = await readJson(target);
      assert.deepEqual(written.weightsManifest[0]!.paths, [
        "group1-shard1of3.bin",
        "group1-shard2of3.bin",
        "group1-shard3of3.bin",
      ]);
      const sizes = [];
      for (const p of written.weightsManifest[0]!.paths)
        sizes.push((await readFile(join(copy.dir, "merged", p))).length);
      assert.deepEqual(sizes, [4096, 4096, bytes.length - 8192]);
      await sameTensors(copy.path, target);
    } finally {
      await copy.cleanup();
    }
  });

  it("writes quantized weights unquantized, with the values they are read as", async () => {
    const copy = await copyFixtureFolder(TFJS_FIXTURES.abalone.path);
    try {
      const json = await readJson(copy.path);
      const floats = new Float32Array(new Uint8Array(await readFile(join(copy.dir, "weights.bin"))).buffer);
      await writeFile(join(copy.dir, "weights.bin"), bytesOf(fromFloat32(floats, "float16")));
      for (const entry of json.weightsManifest[0]!.weights) entry.quantization = { dtype: "float16" };
      await writeFile(copy.path, JSON.stringify(json));
      const target = join(copy.dir, "out.json");
      await tfjsLayersFormat.write(copy.path, target, keep);
      const written = await readJson(target);
      assert.ok(written.weightsManifest[0]!.weights.every((w) => !("quantization" in w) && w.dtype === "float32"));
      assert.equal((await readFile(join(copy.dir, "out.group1-shard1of1.bin"))).length, 12204);
      await sameTensors(copy.path, target);
    } finally {
      await copy.cleanup();
    }
  });

  it("drops optimizer weights saved by tfjs with includeOptimizer", async () => {
    await tf.setBackend("cpu");
    const out = await scratchDir();
    try {
      const model = tf.sequential({
        layers: [tf.layers.dense({ units: 3, inputShape: [4], name: "d1" }), tf.layers.dense({ units: 2, name: "d2" })],
      });
      model.compile({ optimizer: tf.train.adam(0.01), loss: "meanSquaredError" });
      await model.fit(tf.ones([8, 4]), tf.zeros([8, 2]), { epochs: 1, verbose: 0 });
      const saved = join(out.dir, "trained.json");
      await model.save(
        tf.io.withSaveHandler(async (artifacts) => {
          await writeFile(join(out.dir, "trained.bin"), Buffer.from(artifacts.weightData as ArrayBuffer));
          const { weightData: _data, weightSpecs, ...rest } = artifacts;
          await writeFile(
            saved,
            JSON.stringify({ ...rest, weightsManifest: [{ paths: ["trained.bin"], weights: weightSpecs }] }),
          );
          return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
        }),
        { includeOptimizer: true },
      );
      const entries = (await readJson(saved)).weightsManifest[0]!.weights;
      assert.ok(
        entries.some((w) => w.group === "optimizer"),
        "tfjs saved optimizer weights",
      );
      const manifest = await tfjsLayersFormat.readManifest(saved);
      assert.deepEqual(
        manifest.tensors.map((t) => t.name),
        ["d1/kernel", "d1/bias", "d2/kernel", "d2/bias"],
      );
      assert.match(manifest.warnings.join(" "), /optimizer weights/);

      const target = join(out.dir, "model.json");
      await tfjsLayersFormat.write(saved, target, keep);
      const written = await readJson(target);
      assert.deepEqual(
        written.weightsManifest[0]!.weights.map((w) => w.name),
        ["d1/kernel", "d1/bias", "d2/kernel", "d2/bias"],
      );
      assert.equal((await readFile(join(out.dir, "group1-shard1of1.bin"))).length, (4 * 3 + 3 + 3 * 2 + 2) * 4);
      await sameTensors(saved, target);
      const reloaded = await tf.loadLayersModel(
        tf.io.fromMemory({
          modelTopology: written.modelTopology,
          weightSpecs: written.weightsManifest[0]!.weights as tf.io.WeightsManifestEntry[],
          weightData: await weightData(target),
        }),
      );
      const x = tf.randomUniform([5, 4], -1, 1, "float32", 7);
      assert.deepEqual((reloaded.predict(x) as tf.Tensor).dataSync(), (model.predict(x) as tf.Tensor).dataSync());
      x.dispose();
      model.dispose();
      reloaded.dispose();
    } finally {
      await out.cleanup();
    }
  });

  it("never writes over the template's files, and leaves nothing behind on failure", async () => {
    const copy = await copyFixtureFolder(TFJS_FIXTURES.fromKeras.path);
    try {
      const before = (await readdir(copy.dir)).sort();
      // The template's own model.json as target.
      await assert.rejects(writeModel(copy.path, copy.path, keep), ModelFileError);
      // A target whose shard name is one of the template's shards: "group1-shard1of1" + ".bin" differs, so
      // rename the template's shard to collide.
      const json = await readJson(copy.path);
      json.weightsManifest[0]!.paths = ["other.group1-shard1of1.bin"];
      await writeFile(join(copy.dir, "other.group1-shard1of1.bin"), await readFile(join(copy.dir, "group1-shard1of1")));
      await writeFile(copy.path, JSON.stringify(json));
      const shardBefore = await readFile(join(copy.dir, "other.group1-shard1of1.bin"));
      await assert.rejects(
        tfjsLayersFormat.write(copy.path, join(copy.dir, "other.json"), keep),
        (e: Error) => e instanceof ModelFileError && /other\.group1-shard1of1\.bin.*template/.test(e.message),
      );
      assert.deepEqual(await readFile(join(copy.dir, "other.group1-shard1of1.bin")), shardBefore);
      // A source that fails half way: no shard, no model.json, no temporary file.
      let calls = 0;
      const failing = async (info: TensorInfo) => {
        if (++calls === 4) throw new Error("source failed");
        return new Float32Array(info.shape.reduce((a, b) => a * b, 1));
      };
      await assert.rejects(tfjsLayersFormat.write(copy.path, join(copy.dir, "soup.json"), failing), /source failed/);
      // A source of the wrong length is refused by name.
      await assert.rejects(
        tfjsLayersFormat.write(copy.path, join(copy.dir, "soup.json"), async () => new Float32Array(3)),
        /Conv2D_1\/kernel.*got 3 values, expected 150/,
      );
      assert.deepEqual((await readdir(copy.dir)).sort(), [...before, "other.group1-shard1of1.bin"].sort());
    } finally {
      await copy.cleanup();
    }
  });
});
