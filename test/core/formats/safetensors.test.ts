import assert from "node:assert/strict";
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ModelFileError, UsageError } from "../../../src/core/errors.js";
import {
  SafetensorsReader,
  compareNatural,
  safetensorsFormat,
  writeFromTemplate,
} from "../../../src/core/formats/safetensors/index.js";
import type { DType, TensorInfo } from "../../../src/core/tensor.js";

const FIXTURES = "test/fixtures/real-models/safetensors-jl-fixtures";
const SINGLE = `${FIXTURES}/non_sharded/model.safetensors`;
const WITH_METADATA = `${FIXTURES}/non_sharded/model.with_metadata.safetensors`;
const INDEX = `${FIXTURES}/sharded/model.safetensors.index.json`;

/** The file's header and data, parsed here independently of the module under test. */
/** A header entry as the file holds it ("__metadata__" is a map of strings instead). */
interface RawEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

async function rawFile(path: string) {
  const bytes = await readFile(path);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8")) as Record<string, RawEntry>;
  const data = (name: string) => {
    const [b, e] = header[name].data_offsets;
    return bytes.subarray(8 + n + b, 8 + n + e);
  };
  return { bytes, header, data };
}

const CODE_TO_DTYPE: Record<string, DType> = {
  F64: "float64",
  F32: "float32",
  F16: "float16",
  BF16: "bfloat16",
  F8_E4M3: "float8_e4m3",
  F8_E5M2: "float8_e5m2",
  I64: "int64",
  I32: "int32",
  I16: "int16",
  I8: "int8",
  U8: "uint8",
  BOOL: "bool",
};

/** float32 values decoded with Buffer's readers and textbook bit formulas, not with src/core/convert.ts. */
function decodeIndependently(code: string, raw: Buffer): number[] {
  const out: number[] = [];
  const half = (h: number) => {
    const s = h & 0x8000 ? -1 : 1,
      e = (h >> 10) & 31,
      m = h & 1023;
    return e === 0
      ? s * m * Math.pow(2, -24)
      : e === 31
        ? m
          ? NaN
          : s * Infinity
        : s * Math.pow(2, e - 15) * (1 + m / 1024);
  };
  const widths: Record<string, number> = {
    F64: 8,
    F32: 4,
    F16: 2,
    BF16: 2,
    F8_E4M3: 1,
    F8_E5M2: 1,
    I64: 8,
    I32: 4,
    I16: 2,
    I8: 1,
    U8: 1,
    BOOL: 1,
  };
  const w = widths[code]!;
  for (let o = 0; o < raw.length; o += w) {
    switch (code) {
      case "F64":
        out.push(Math.fround(raw.readDoubleLE(o)));
        break;
      case "F32":
        out.push(raw.readFloatLE(o));
        break;
      case "F16":
        out.push(half(raw.readUInt16LE(o)));
        break;
      case "BF16": {
        const b = Buffer.alloc(4);
        b.writeUInt16LE(raw.readUInt16LE(o), 2);
        out.push(b.readFloatLE(0));
        break;
      }
      case "F8_E5M2":
        out.push(half(raw[o]! << 8));
        break;
      case "F8_E4M3": {
        const v = raw[o]!,
          s = v & 0x80 ? -1 : 1,
          e = (v >> 3) & 15,
          m = v & 7;
        out.push(
          e === 15 && m === 7 ? NaN : e === 0 ? s * (m / 8) * Math.pow(2, -6) : s * (1 + m / 8) * Math.pow(2, e - 7),
        );
        break;
      }
      case "I64":
        out.push(Number(raw.readBigInt64LE(o)));
        break;
      case "I32":
        out.push(raw.readInt32LE(o));
        break;
      case "I16":
        out.push(raw.readInt16LE(o));
        break;
      case "I8":
        out.push(raw.readInt8(o));
        break;
      default:
        out.push(raw[o]!);
    }
  }
  return out;
}

async function withTempDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "soup-st-"));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function readAll(path: string): Promise<Map<string, Buffer>> {
  const model = await safetensorsFormat.open(path);
  try {
    const out = new Map<string, Buffer>();
    for (const t of model.manifest.tensors) {
      const d = (await model.readTensor(t.name)).data;
      out.set(t.name, Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    }
    return out;
  } finally {
    await model.close();
  }
}

describe("safetensors format", () => {
  describe("detect", () => {
    it("recognises safetensors files and shard indexes by content, and nothing else", async () => {
      const head = async (p: string) => new Uint8Array((await readFile(p)).subarray(0, 4096));
      assert.equal(safetensorsFormat.detect(SINGLE, await head(SINGLE)), true);
      assert.equal(safetensorsFormat.detect(INDEX, await head(INDEX)), true);
      // Content, not name: a safetensors file under another name, an index under another name.
      assert.equal(safetensorsFormat.detect("weights.bin", await head(SINGLE)), true);
      assert.equal(safetensorsFormat.detect("shards.json", await head(INDEX)), true);
      const tfjs = "test/fixtures/real-models/tfjs-examples/abalone-node/model.json";
      const h5 = "test/fixtures/real-models/tensorspace-converter/keras_h5_lenet/keras222_weightsonly_weights.h5";
      assert.equal(safetensorsFormat.detect(tfjs, await head(tfjs)), false);
      assert.equal(safetensorsFormat.detect(h5, await head(h5)), false);
    });
  });

  describe("readManifest", () => {
    it("lists every tensor of a single file as its header says, in natural name order", async () => {
      for (const path of [SINGLE, WITH_METADATA]) {
        const { header } = await rawFile(path);
        const manifest = await safetensorsFormat.readManifest(path);
        assert.equal(manifest.format, "safetensors");
        assert.deepEqual(manifest.files, [path]);
        assert.equal(manifest.architecture, undefined);
        const names = Object.keys(header).filter((k) => k !== "__metadata__");
        assert.equal(manifest.tensors.length, names.length);
        assert.equal(names.length, 36);
        for (const t of manifest.tensors) {
          assert.deepEqual(t.shape, header[t.name].shape, t.name);
          assert.equal(t.dtype, CODE_TO_DTYPE[header[t.name].dtype], t.name);
          assert.equal(t.layer, t.name, "names without a dot are their own layer");
        }
        const order = manifest.tensors.map((t) => t.name);
        assert.deepEqual(order.slice(0, 3), ["bfloat16_3", "bfloat16_35", "bfloat16_357"]);
        assert.ok(order.indexOf("float8_e4m3fn_3") < order.indexOf("float16_3"), "8 sorts before 16");
        assert.ok(order.indexOf("float16_357") < order.indexOf("float32_3"));
      }
      assert.deepEqual((await safetensorsFormat.readManifest(SINGLE)).metadata, {});
      assert.deepEqual((await safetensorsFormat.readManifest(WITH_METADATA)).metadata, {
        test: "metadata",
        version: "2.2",
      });
    });

    it("reads a sharded set through its index: index first, then the six shards", async () => {
      const manifest = await safetensorsFormat.readManifest(INDEX);
      assert.equal(manifest.files.length, 7);
      assert.equal(manifest.files[0], INDEX);
      assert.deepEqual(
        manifest.files.slice(1),
        [1, 2, 3, 4, 5, 6].map((k) => `${FIXTURES}/sharded/model-0000${k}-of-00006.safetensors`),
      );
      assert.deepEqual(manifest.metadata, { format: "pt" });
      const single = await safetensorsFormat.readManifest(SINGLE);
      assert.deepEqual(manifest.tensors, single.tensors);
      assert.deepEqual(manifest.warnings, []);
    });

    it("names layers after the module path and orders digit runs by value", async () => {
      assert.ok(compareNatural("layers.2.w", "layers.10.w") < 0);
      assert.ok(compareNatural("layers.10.w", "layers.2.w") > 0);
      assert.equal(compareNatural("a.1", "a.1"), 0);
      await withTempDir(async (dir) => {
        const path = join(dir, "m.safetensors");
        const names = ["model.layers.10.mlp.weight", "model.layers.2.mlp.weight", "model.embed.weight"];
        const header: Record<string, unknown> = {};
        names.forEach((n, i) => (header[n] = { dtype: "F32", shape: [1], data_offsets: [4 * i, 4 * i + 4] }));
        await writeFile(path, handMade(header, Buffer.alloc(12)));
        const manifest = await safetensorsFormat.readManifest(path);
        assert.deepEqual(
          manifest.tensors.map((t) => t.name),
          ["model.embed.weight", "model.layers.2.mlp.weight", "model.layers.10.mlp.weight"],
        );
        assert.deepEqual(
          manifest.tensors.map((t) => t.layer),
          ["model.embed", "model.layers.2.mlp", "model.layers.10.mlp"],
        );
      });
    });
  });

  describe("readTensor", () => {
    it("returns each tensor's exact bytes, for every dtype", async () => {
      const { header, data } = await rawFile(SINGLE);
      const model = await safetensorsFormat.open(SINGLE);
      try {
        for (const name of Object.keys(header)) {
          const t = await model.readTensor(name);
          assert.equal(t.dtype, CODE_TO_DTYPE[header[name].dtype]);
          assert.deepEqual(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength), data(name), name);
        }
      } finally {
        await model.close();
      }
    });

    it("converts every dtype to float32 as an independent decoder does", async () => {
      const { header, data } = await rawFile(SINGLE);
      const model = await safetensorsFormat.open(SINGLE);
      try {
        for (const name of Object.keys(header)) {
          const t = await model.readTensor(name, { float32: true });
          assert.equal(t.dtype, "float32");
          assert.ok(t.data instanceof Float32Array);
          assert.deepEqual(Array.from(t.data), decodeIndependently(header[name].dtype, data(name)), name);
        }
      } finally {
        await model.close();
      }
    });

    it("matches values decoded by Python's struct module (and FP8 by hand)", async () => {
      // python3: struct.unpack('<3e', ...) etc. on the fixture's bytes; E4M3 174 = 1.0101.110 -> -(1+6/8)*2^(5-7).
      const known: Record<string, number[]> = {
        float16_3: [0.123779296875, 1.6435546875, 0.454833984375],
        bfloat16_3: [-0.82421875, -0.373046875, 0.84375],
        float32_3: [0.01330372504889965, 0.581986665725708, 0.4747563302516937],
        int64_3: [64, 64, 30],
        int32_3: [42, 13, 59],
        int16_3: [36, 9, 6],
        int8_3: [35, 38, 26],
        uint8_3: [19, 54, 38],
        float8_e4m3fn_3: [-0.4375, -0.28125, -1],
        float8_e5m2_3: [-0.75, -0.1875, -0.75],
      };
      const model = await safetensorsFormat.open(SINGLE);
      try {
        for (const [name, values] of Object.entries(known)) {
          assert.deepEqual(
            Array.from((await model.readTensor(name, { float32: true })).data as Float32Array),
            values,
            name,
          );
        }
        const f64 = (await model.readTensor("float64_3")).data;
        assert.deepEqual(
          Array.from(f64 as Float64Array),
          [0.09568845342543757, -0.09626170885828042, -0.7743970759206625],
        );
      } finally {
        await model.close();
      }
    });

    it("reads the same tensors from the six shards as from the single file", async () => {
      const sharded = await readAll(INDEX);
      const single = await readAll(SINGLE);
      assert.equal(sharded.size, 36);
      for (const [name, bytes] of single) assert.deepEqual(sharded.get(name), bytes, name);
    });

    it("refuses an unknown tensor name, naming the file", async () => {
      const model = await safetensorsFormat.open(SINGLE);
      try {
        await assert.rejects(
          model.readTensor("nope"),
          (e: unknown) => e instanceof ModelFileError && e.file === SINGLE && /"nope"/.test(e.message),
        );
      } finally {
        await model.close();
      }
    });
  });

  describe("write", () => {
    it("writes a byte-identical file when every tensor keeps the template's data", async () => {
      await withTempDir(async (dir) => {
        for (const template of [SINGLE, WITH_METADATA]) {
          const target = join(dir, "out.safetensors");
          await safetensorsFormat.write(template, target, async () => undefined);
          assert.deepEqual(await readFile(target), await readFile(template));
        }
      });
    });

    it("converts float32 values back to each template dtype (round trip gives the same bytes and metadata)", async () => {
      await withTempDir(async (dir) => {
        const target = join(dir, "round.safetensors");
        const model = await safetensorsFormat.open(WITH_METADATA);
        try {
          const seen: string[] = [];
          await safetensorsFormat.write(WITH_METADATA, target, async (info: TensorInfo) => {
            seen.push(info.name);
            if (info.dtype.startsWith("float8")) return undefined; // 8-bit floats are read-only in convert.ts
            const asFloat = info.dtype !== "int64" && info.dtype !== "float64";
            return (await model.readTensor(info.name, { float32: asFloat })).data;
          });
          assert.equal(seen.length, 36);
        } finally {
          await model.close();
        }
        const written = await rawFile(target);
        const original = await rawFile(WITH_METADATA);
        assert.deepEqual(written.header, original.header);
        assert.deepEqual(written.header.__metadata__, { test: "metadata", version: "2.2" });
        for (const name of Object.keys(original.header).filter((k) => k !== "__metadata__")) {
          assert.deepEqual(written.data(name), original.data(name), name);
        }
        assert.deepEqual(written.bytes, original.bytes);
      });
    });

    it("stores new values converted to the template dtype and merges extra metadata", async () => {
      await withTempDir(async (dir) => {
        const target = join(dir, "scaled.safetensors");
        const model = await safetensorsFormat.open(SINGLE);
        const original = new Map<string, Float32Array>();
        try {
          for (const n of ["float32_35", "float16_35", "bfloat16_35", "float64_35"]) {
            original.set(n, (await model.readTensor(n, { float32: true })).data as Float32Array);
          }
        } finally {
          await model.close();
        }
        await safetensorsFormat.write(SINGLE, target, async (info) => original.get(info.name)?.map((v) => v * 2), {
          metadata: { merged_by: "model-soup" },
        });
        const { header, bytes } = await rawFile(target);
        assert.equal(Number(bytes.readBigUInt64LE(0)) % 8, 0, "header padded to 8 bytes");
        assert.deepEqual(header.__metadata__, { merged_by: "model-soup" });
        const back = await safetensorsFormat.open(target);
        try {
          for (const [name, values] of original) {
            // Doubling is exact in every float format (no overflow at these magnitudes).
            assert.deepEqual(
              Array.from((await back.readTensor(name, { float32: true })).data as Float32Array),
              Array.from(values, (v) => v * 2),
              name,
            );
          }
          const untouched = await back.readTensor("int32_357");
          const before = await rawFile(SINGLE);
          assert.deepEqual(
            Buffer.from(untouched.data.buffer, untouched.data.byteOffset, untouched.data.byteLength),
            before.data("int32_357"),
          );
        } finally {
          await back.close();
        }
      });
    });

    it("writes a sharded template as shards named after the target, with a correct index", async () => {
      await withTempDir(async (dir) => {
        const target = join(dir, "merged.safetensors.index.json");
        await safetensorsFormat.write(INDEX, target, async () => undefined);
        const files = (await readdir(dir)).sort();
        assert.deepEqual(files, [
          ...[1, 2, 3, 4, 5, 6].map((k) => `merged-0000${k}-of-00006.safetensors`),
          "merged.safetensors.index.json",
        ]);
        const index = JSON.parse(await readFile(target, "utf8"));
        const originalIndex = JSON.parse(await readFile(INDEX, "utf8"));
        assert.equal(index.metadata.total_size, originalIndex.metadata.total_size);
        assert.deepEqual(Object.keys(index.weight_map), Object.keys(originalIndex.weight_map));
        for (const [name, shard] of Object.entries(originalIndex.weight_map)) {
          assert.equal(index.weight_map[name], (shard as string).replace("model-", "merged-"), name);
        }
        for (let k = 1; k <= 6; k++) {
          assert.deepEqual(
            await readFile(join(dir, `merged-0000${k}-of-00006.safetensors`)),
            await readFile(`${FIXTURES}/sharded/model-0000${k}-of-00006.safetensors`),
          );
        }
        const reread = await readAll(target);
        for (const [name, bytes] of await readAll(INDEX)) assert.deepEqual(reread.get(name), bytes, name);
      });
    });

    it("writes into a folder target under the template's own file name", async () => {
      await withTempDir(async (dir) => {
        await safetensorsFormat.write(INDEX, dir, async () => undefined);
        assert.ok((await readdir(dir)).includes("model.safetensors.index.json"));
        const single = join(dir, "single");
        await mkdir(single);
        await safetensorsFormat.write(SINGLE, single, async () => undefined);
        assert.deepEqual(await readdir(single), ["model.safetensors"]);
      });
    });

    it("refuses to write over any template file and leaves it untouched", async () => {
      await withTempDir(async (dir) => {
        const copy = join(dir, "sharded");
        await mkdir(copy);
        for (const f of await readdir(`${FIXTURES}/sharded`))
          await writeFile(join(copy, f), await readFile(`${FIXTURES}/sharded/${f}`));
        const before = await readFile(join(copy, "model-00001-of-00006.safetensors"));
        await writeFile(join(copy, "orig.safetensors.index.json"), await readFile(INDEX));
        // The target index is a new file, but its shards would be named like the template's and overwrite them.
        await assert.rejects(
          safetensorsFormat.write(
            join(copy, "orig.safetensors.index.json"),
            join(copy, "model.safetensors.index.json"),
            async () => undefined,
          ),
          (e: unknown) => e instanceof ModelFileError && /inputs are never modified/.test(e.message),
        );
        const single = join(dir, "m.safetensors");
        await writeFile(single, await readFile(SINGLE));
        await assert.rejects(
          safetensorsFormat.write(single, single, async () => new Float32Array(0)),
          ModelFileError,
        );
        await assert.rejects(
          safetensorsFormat.write(
            join(copy, "orig.safetensors.index.json"),
            join(copy, "orig.safetensors.index.json"),
            async () => undefined,
          ),
          ModelFileError,
        );
        assert.deepEqual(
          (await readdir(copy)).filter((f) => f.endsWith(".tmp")),
          [],
        );
        assert.deepEqual(await readFile(join(copy, "model-00001-of-00006.safetensors")), before);
        assert.deepEqual(await readFile(single), await readFile(SINGLE));
      });
    });

    it("streams a tensor written in pieces to the same bytes, and refuses pieces that do not add up", async () => {
      await withTempDir(async (dir) => {
        const template = await SafetensorsReader.open(SINGLE);
        try {
          const pieces =
            (info: TensorInfo, drop = 0) =>
            async (write: (v: Float32Array) => Promise<void>) => {
              const values = (await template.readTensor(info.name, { float32: true })).data as Float32Array;
              for (let at = 0; at < values.length - drop; at += 4)
                await write(values.subarray(at, Math.min(at + 4, values.length - drop)));
            };
          // float64 would lose bits through float32; the others round-trip exactly.
          const floats = (info: TensorInfo) => ["float32", "float16", "bfloat16"].includes(info.dtype);
          const target = join(dir, "pieces.safetensors");
          await writeFromTemplate(template, target, async (info) => (floats(info) ? pieces(info) : undefined));
          assert.deepEqual(await readFile(target), await readFile(SINGLE));
          await assert.rejects(
            writeFromTemplate(template, join(dir, "short.safetensors"), async (info) =>
              floats(info) ? pieces(info, 1) : undefined,
            ),
            (e: unknown) => e instanceof UsageError && /tensor "float32_3" was given 8 of its 12 bytes/.test(e.message),
          );
          await assert.rejects(
            writeFromTemplate(
              template,
              join(dir, "long.safetensors"),
              async () => async (write) => write(new Float32Array(1000)),
            ),
            (e: unknown) =>
              e instanceof UsageError && /tensor "int64_3" was given more than its 24 bytes/.test(e.message),
          );
          assert.deepEqual(await readdir(dir), ["pieces.safetensors"]);
        } finally {
          await template.close();
        }
      });
    });

    it("refuses a single-file target for a sharded template", async () => {
      await withTempDir(async (dir) => {
        await assert.rejects(
          safetensorsFormat.write(INDEX, join(dir, "x.safetensors"), async () => undefined),
          UsageError,
        );
        assert.deepEqual(await readdir(dir), []);
      });
    });
  });
});

/** A safetensors file built by hand, independently of the writer under test. */
function handMade(header: Record<string, unknown>, data: Buffer, pad = true): Buffer {
  let json = Buffer.from(JSON.stringify(header));
  if (pad && json.length % 8) json = Buffer.concat([json, Buffer.alloc(8 - (json.length % 8), 0x20)]);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, data]);
}
