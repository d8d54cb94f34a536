/** Readers facing hostile files: bounded parsing and inflation, no following of what a file points at, no hangs. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { unzipSync, zipSync } from "fflate";
import { LIMITS, jsonDepthExceeds, parseBoundedJson } from "../../../src/core/formats/limits.js";
import { readManifest, openModel, writeModel } from "../../../src/core/formats/registry.js";
import { importMergekitYaml } from "../../../src/core/recipe/mergekit.js";
import { deflatedZeros, zipBomb } from "../../fuzz/mutate.js";
import { readAllTensors, rejectsWith, sha256 } from "../../support/model-files.js";
import { kerasFormat } from "../../../src/core/formats/keras-zip/index.js";

const FIXTURES = resolve(import.meta.dirname, "..", "..", "fixtures");
const HOSTILE = resolve(import.meta.dirname, "..", "..", "fuzz", "fixtures");
const KERAS = join(FIXTURES, "keras3");
const DIGITS = resolve(import.meta.dirname, "..", "..", "..", "samples", "digits", "models");
const SUBCLASSED = join(FIXTURES, "real-models", "keras-team-keras", "pre_pr22362_nested_container.keras");

describe("hostile model files", function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "hostile-test-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe("JSON and YAML bounds", () => {
    it("counts nesting outside strings only, and stops past the limit", () => {
      assert.equal(jsonDepthExceeds('{"a":"[[[[[[[[[["}', 3), false);
      assert.equal(jsonDepthExceeds("[[[[]]]]", 3), true);
      assert.equal(jsonDepthExceeds('["\\"[[[[[["]', 2), false);
    });

    it("refuses JSON nested tens of thousands deep, naming the file and the limit", () => {
      assert.throws(() => parseBoundedJson("m.json", "a model.json", `${"[".repeat(50_000)}${"]".repeat(50_000)}`), {
        message: `m.json: has a model.json nested more than ${LIMITS.jsonDepth} levels deep; expected at most ${LIMITS.jsonDepth}`,
      });
    });

    it("refuses a safetensors __metadata__ nested 50,000 deep", async () => {
      const header = `{"__metadata__":{"x":${"[".repeat(50_000)}${"]".repeat(50_000)}}}`;
      const bytes = new Uint8Array(8 + header.length);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
      bytes.set(new TextEncoder().encode(header), 8);
      const path = join(dir, "deep.safetensors");
      writeFileSync(path, bytes);
      await rejectsWith(readManifest(path), path, /nested more than 1000 levels deep/);
    });

    it("reports a YAML alias bomb as a refusal naming the config", () => {
      const lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
      for (let i = 1; i < 12; i++) {
        const name = String.fromCharCode(97 + i);
        lines.push(
          `${name}: &${name} [${Array(10)
            .fill(`*${String.fromCharCode(96 + i)}`)
            .join(", ")}]`,
        );
      }
      assert.throws(
        () => importMergekitYaml(`${lines.join("\n")}\nmerge_method: linear\n`, "bomb.yml"),
        (error: Error) => {
          assert.equal(error.name, "ModelFileError");
          assert.match(error.message, /^bomb\.yml: YAML whose aliases expand to a bounded document/);
          return true;
        },
      );
    });
  });

  describe("files that are not regular files", () => {
    it("refuses a FIFO without opening it (opening would block)", async () => {
      const fifo = join(dir, "pipe.safetensors");
      execFileSync("mkfifo", [fifo]);
      await rejectsWith(readManifest(fifo), fifo, /is a FIFO \(named pipe\); expected a regular file/);
    });

    it("refuses a folder given as a model", async () => {
      await rejectsWith(readManifest(dir), dir, /is a folder; expected a regular file/);
    });
  });

  describe("decompression", () => {
    const entries = unzipSync(new Uint8Array(readFileSync(join(KERAS, "mlp_a.keras"))));
    const others = { "metadata.json": entries["metadata.json"]!, "config.json": entries["config.json"]! };

    it("refuses a .keras weights entry that inflates past the size its directory declares, streaming", async () => {
      const path = join(dir, "bomb.keras");
      writeFileSync(path, zipBomb("model.weights.h5", deflatedZeros(64 * 1024 * 1024), 0, 15720, others));
      await rejectsWith(readManifest(path), path, /inflates past the 15720 bytes its directory declares/);
    });

    it("refuses an entry declared larger than the inflation ceiling before inflating it", async () => {
      const path = join(dir, "bomb.keras");
      const previous = process.env.MODEL_SOUP_MAX_INFLATE_MB;
      process.env.MODEL_SOUP_MAX_INFLATE_MB = "1";
      try {
        writeFileSync(path, zipBomb("model.weights.h5", deflatedZeros(4 * 1024 * 1024), 0, 4 * 1024 * 1024, others));
        await rejectsWith(
          readManifest(path),
          path,
          /inflates to 4194304 bytes, more than the 1048576-byte limit \(raise MODEL_SOUP_MAX_INFLATE_MB/,
        );
      } finally {
        if (previous === undefined) delete process.env.MODEL_SOUP_MAX_INFLATE_MB;
        else process.env.MODEL_SOUP_MAX_INFLATE_MB = previous;
      }
    });

    it("reads a .keras whose weights entry is deflated (extracted by streaming) like the stored original", async () => {
      const path = join(dir, "deflated.keras");
      writeFileSync(path, zipSync({ ...others, "model.weights.h5": [entries["model.weights.h5"]!, { level: 6 }] }));
      const a = await readAllTensors(path, kerasFormat);
      const b = await readAllTensors(join(KERAS, "mlp_a.keras"), kerasFormat);
      assert.deepEqual([...a.keys()], [...b.keys()]);
      for (const [name, t] of a) assert.deepEqual(t.data, b.get(name)!.data);
    });
  });

  describe("HDF5: storage in other files, cycles", () => {
    for (const [name, kind] of [
      ["external-storage.h5", "external storage"],
      ["virtual.h5", "a virtual dataset"],
    ] as const) {
      it(`refuses ${name} on reading, naming the dataset`, async () => {
        const path = join(dir, name);
        copyFileSync(join(HOSTILE, name), path);
        await rejectsWith(
          readManifest(path),
          path,
          new RegExp(`has dataset "/model_weights/dense/dense/kernel" stored as ${kind}`),
        );
      });
    }

    it("never writes into the file a kernel's external storage names", async () => {
      const path = join(dir, "external-storage.h5");
      copyFileSync(join(HOSTILE, "external-storage.h5"), path);
      const victim = join(dir, "victim.bin");
      writeFileSync(victim, new Uint8Array(256).fill(7));
      const before = await sha256(victim);
      await assert.rejects(writeModel(path, join(dir, "out.h5"), async () => undefined));
      assert.equal(await sha256(victim), before);
    });

    it("refuses a .keras whose weights link groups in a cycle instead of walking it forever", async () => {
      const path = join(dir, "cycle.keras");
      copyFileSync(join(HOSTILE, "cycle.keras"), path);
      await rejectsWith(readManifest(path), path, /nested more than 64 deep .*\(groups linked in a cycle\?\)/);
    });
  });

  describe("shards must stay inside their model's folder", () => {
    it("refuses a TF.js weights file symlinked outside the model folder", async () => {
      const model = join(dir, "model");
      mkdirSync(model);
      mkdirSync(join(dir, "elsewhere"));
      copyFileSync(join(DIGITS, "ingredient-1", "model.json"), join(model, "model.json"));
      copyFileSync(join(DIGITS, "ingredient-1", "weights.bin"), join(dir, "elsewhere", "weights.bin"));
      symlinkSync(join("..", "elsewhere", "weights.bin"), join(model, "weights.bin"));
      const path = join(model, "model.json");
      await rejectsWith(
        readManifest(path),
        path,
        /names weight shard ".*weights\.bin" that resolves \(through a symlink\) to .*elsewhere.*outside the model's folder/,
      );
    });

    it("accepts a symlink that stays inside the folder", async () => {
      const model = join(dir, "model");
      mkdirSync(join(model, "data"), { recursive: true });
      copyFileSync(join(DIGITS, "ingredient-1", "model.json"), join(model, "model.json"));
      copyFileSync(join(DIGITS, "ingredient-1", "weights.bin"), join(model, "data", "weights.bin"));
      symlinkSync(join("data", "weights.bin"), join(model, "weights.bin"));
      assert.ok((await readManifest(join(model, "model.json"))).tensors.length > 0);
    });
  });

  describe("bad input accepted silently before", () => {
    it("refuses a .keras missing one layer's weights, naming the layer", async () => {
      const source = join(dir, "weights.h5");
      writeFileSync(source, entries());
      execFileSync("/usr/bin/python3", [
        "-c",
        `import h5py\nf=h5py.File(${JSON.stringify(source)},'r+')\ndel f['layers/dense_1/vars/0']\ndel f['layers/dense_1/vars/1']\nf.close()`,
      ]);
      const all = unzipSync(new Uint8Array(readFileSync(join(KERAS, "mlp_a.keras"))));
      const path = join(dir, "missing.keras");
      writeFileSync(
        path,
        zipSync({
          "metadata.json": all["metadata.json"]!,
          "config.json": all["config.json"]!,
          "model.weights.h5": [new Uint8Array(readFileSync(source)), { level: 0 }],
        }),
      );
      await rejectsWith(readManifest(path), path, /has no weights for layer "dense_1" \(Dense\)/);
    });

    it("refuses a config whose Dense units disagree with the kernel", async () => {
      const all = unzipSync(new Uint8Array(readFileSync(join(KERAS, "mlp_a.keras"))));
      const config = JSON.parse(new TextDecoder().decode(all["config.json"]));
      const dense = config.config.layers.find((l: { class_name: string }) => l.class_name === "Dense");
      dense.config.units += 1;
      const path = join(dir, "units.keras");
      writeFileSync(
        path,
        zipSync({
          "metadata.json": all["metadata.json"]!,
          "config.json": new TextEncoder().encode(JSON.stringify(config)),
          "model.weights.h5": [all["model.weights.h5"]!, { level: 0 }],
        }),
      );
      await rejectsWith(readManifest(path), path, /its config expects a kernel of shape \[inputs, \d+\]/);
    });

    function entries(): Uint8Array {
      return unzipSync(new Uint8Array(readFileSync(join(KERAS, "mlp_a.keras"))))["model.weights.h5"]!;
    }
  });

  describe("models that cannot be rebuilt are read and merged by their weights", () => {
    it("reads the Keras 3.15 subclassed model by its weights, saying why it cannot be run", async () => {
      const manifest = await readManifest(SUBCLASSED);
      assert.equal(manifest.architecture, undefined);
      assert.deepEqual(
        manifest.tensors.map((t) => `${t.name} ${t.shape.join("x")}`),
        [
          "layers/dense/vars/0 4x4",
          "layers/dense_1/vars/0 4x4",
          "layers/dense_2/vars/0 4x4",
          "layers/dense_3/vars/0 4x2",
          "layers/dense_3/vars/1 2",
        ],
      );
      assert.match(
        manifest.warnings.join("\n"),
        /NestedDenseModel config without a layer list .* merged by its weights only/,
      );
    });

    it("writes it back with new weights, every other entry byte for byte", async () => {
      const out = join(dir, "merged.keras");
      await writeModel(SUBCLASSED, out, async (info) =>
        new Float32Array(info.shape.reduce((a, b) => a * b, 1)).fill(0.5),
      );
      const model = await openModel(out);
      try {
        for (const t of model.manifest.tensors)
          assert.ok((await model.readTensor(t.name)).data.every((v) => v === 0.5));
      } finally {
        await model.close();
      }
      const a = unzipSync(new Uint8Array(readFileSync(SUBCLASSED)));
      const b = unzipSync(new Uint8Array(readFileSync(out)));
      assert.deepEqual(b["config.json"], a["config.json"]);
    });
  });
});
