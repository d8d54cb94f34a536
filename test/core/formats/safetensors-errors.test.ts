import assert from "node:assert/strict";
import { copyFile, mkdtemp, readFile, readdir, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ModelFileError, UsageError } from "../../../src/core/errors.js";
import { safetensorsFormat } from "../../../src/core/formats/safetensors/index.js";
import { nonFiniteWarning, scanNonFinite } from "../../../src/core/non-finite.js";

const FIXTURES = "test/fixtures/real-models/safetensors-jl-fixtures";
const SINGLE = `${FIXTURES}/non_sharded/model.safetensors`;
const INDEX = `${FIXTURES}/sharded/model.safetensors.index.json`;

/** A safetensors file built by hand, independently of the module under test. */
function handMade(header: Record<string, unknown>, data: Buffer): Buffer {
  let json = Buffer.from(JSON.stringify(header));
  if (json.length % 8) json = Buffer.concat([json, Buffer.alloc(8 - (json.length % 8), 0x20)]);
  return withLength(json.length, Buffer.concat([json, data]));
}

function withLength(length: number, rest: Buffer): Buffer {
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(length));
  return Buffer.concat([prefix, rest]);
}

let dir: string;

async function file(name: string, bytes: Buffer | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

/** Both readManifest and open must refuse the file with a ModelFileError naming `named` and matching `expected`. */
async function refuses(path: string, expected: RegExp, named = path): Promise<void> {
  const check = (e: unknown) => {
    assert.ok(e instanceof ModelFileError, `expected a ModelFileError, got ${String(e)}`);
    assert.equal(e.file, named);
    assert.match(e.message, expected);
    assert.ok(e.message.startsWith(named));
    return true;
  };
  await assert.rejects(safetensorsFormat.readManifest(path), check);
  await assert.rejects(safetensorsFormat.open(path), check);
}

describe("safetensors bad input", () => {
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-st-bad-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("a file shorter than the 8-byte header length", async () => {
    await refuses(
      await file("short.safetensors", Buffer.from([1, 0, 0])),
      /truncated: 3 bytes; expected at least the 8-byte/,
    );
  });

  it("a file cut inside its tensor data", async () => {
    const whole = await readFile(SINGLE);
    await refuses(
      await file("cut.safetensors", whole.subarray(0, whole.length - 10)),
      /is truncated: tensor "bool_357" ends at byte 6841 but the file has 6831 bytes/,
    );
  });

  it("a header length beyond the file size", async () => {
    await refuses(
      await file("long.safetensors", withLength(5000, Buffer.from('{"a":1}'))),
      /header of 5000 bytes but the file has only 7 bytes/,
    );
  });

  it("a header length above the reference limit, before allocating it", async () => {
    const path = await file("huge.safetensors", withLength(150_000_000, Buffer.from("{}")));
    await truncate(path, 150_000_100); // sparse: no disk used
    await refuses(path, /header of 150000000 bytes; expected at most 100000000/);
  });

  it("a header that is not JSON, or not an object", async () => {
    await refuses(await file("notjson.safetensors", withLength(8, Buffer.from("{nope   "))), /not valid UTF-8 JSON/);
    await refuses(await file("brace.safetensors", withLength(8, Buffer.from("[1,2]   "))), /does not start with '\{'/);
    await refuses(
      await file("utf.safetensors", withLength(8, Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 32, 32, 32, 32]))),
      /not valid UTF-8 JSON/,
    );
    await refuses(
      await file("meta.safetensors", handMade({ __metadata__: "x" }, Buffer.alloc(0))),
      /__metadata__ that is not a JSON object/,
    );
  });

  it("data_offsets past the end of the data", async () => {
    const path = await file(
      "range.safetensors",
      handMade({ w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, Buffer.alloc(4)),
    );
    await refuses(path, /is truncated: tensor "w" ends at byte \d+ but the file has \d+ bytes/);
  });

  it("overlapping tensors, gaps and trailing bytes", async () => {
    const overlap = handMade(
      { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } },
      Buffer.alloc(12),
    );
    await refuses(
      await file("overlap.safetensors", overlap),
      /tensor "b" \(bytes 4\.\.12\) overlaps tensor "a" \(bytes 0\.\.8\)/,
    );
    const gap = handMade({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, Buffer.alloc(8));
    await refuses(
      await file("gap.safetensors", gap),
      /starts at data byte 4 but the previous tensor ends at 0; expected tensor data without gaps/,
    );
    const trailing = handMade({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(9));
    await refuses(await file("trailing.safetensors", trailing), /has 5 bytes after the last tensor's data/);
  });

  it("data_offsets that disagree with shape x dtype size, or are malformed", async () => {
    const wrong = handMade({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, Buffer.alloc(8));
    await refuses(
      await file("size.safetensors", wrong),
      /tensor "w" .*data_offsets \[0, 8\] \(8 bytes\); expected 12 bytes for shape \[3\] of F32/,
    );
    const reversed = handMade({ w: { dtype: "F32", shape: [0], data_offsets: [4, 0] } }, Buffer.alloc(4));
    await refuses(await file("reversed.safetensors", reversed), /expected \[begin, end\] with 0 <= begin <= end/);
    const shape = handMade({ w: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, Buffer.alloc(4));
    await refuses(await file("shape.safetensors", shape), /expected an array of non-negative integers/);
    const overflow = handMade(
      { w: { dtype: "F32", shape: [2 ** 40, 2 ** 20], data_offsets: [0, 4] } },
      Buffer.alloc(4),
    );
    await refuses(await file("overflow.safetensors", overflow), /too large/);
  });

  it("an unknown dtype", async () => {
    const path = await file(
      "dtype.safetensors",
      handMade({ w: { dtype: "F128", shape: [1], data_offsets: [0, 16] } }, Buffer.alloc(16)),
    );
    await refuses(path, /tensor "w" .*unknown dtype "F128"; expected one of F64, F32, F16, BF16/);
  });

  it("a shard named in the index that does not exist", async () => {
    const index = join(dir, "model.safetensors.index.json");
    await copyFile(INDEX, index);
    for (const k of [1, 2, 3, 5, 6]) {
      await copyFile(
        `${FIXTURES}/sharded/model-0000${k}-of-00006.safetensors`,
        join(dir, `model-0000${k}-of-00006.safetensors`),
      );
    }
    await refuses(index, /names shard "model-00004-of-00006.safetensors" in its weight_map, but .* does not exist/);
  });

  it("an index without a weight_map, or with bad entries", async () => {
    await refuses(
      await file("a.safetensors.index.json", '{"metadata": {"total_size": 4}}'),
      /has no "weight_map" object/,
    );
    await refuses(await file("b.safetensors.index.json", '{"weight_map": {}}'), /empty "weight_map"/);
    await refuses(
      await file("c.safetensors.index.json", '{"weight_map": {"w": "../x.safetensors"}}'),
      /expected a file beside the index/,
    );
    await refuses(await file("d.safetensors.index.json", '{"weight_map": '), /is not valid JSON/);
    await file("s.safetensors", handMade({ w: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(4)));
    await refuses(
      await file("e.safetensors.index.json", '{"weight_map": {"v": "s.safetensors"}}'),
      /maps tensor "v" to shard "s.safetensors", but .* has no such tensor/,
    );
  });

  it("a bad shard is reported with the shard's own name", async () => {
    const index = join(dir, "model.safetensors.index.json");
    await copyFile(INDEX, index);
    for (const k of [1, 2, 3, 4, 5, 6]) {
      const name = `model-0000${k}-of-00006.safetensors`;
      const bytes = await readFile(`${FIXTURES}/sharded/${name}`);
      await writeFile(join(dir, name), k === 3 ? bytes.subarray(0, 100) : bytes);
    }
    await refuses(
      index,
      /header of 176 bytes but the file has only 92 bytes/,
      join(dir, "model-00003-of-00006.safetensors"),
    );
  });

  it("NaN and Inf weights read fine and are counted for a warning", async () => {
    const f32 = Buffer.alloc(12);
    [NaN, Infinity, 1].forEach((v, i) => f32.writeFloatLE(v, 4 * i));
    const f16 = Buffer.alloc(6);
    [0x7e00, 0xfc00, 0x3c00].forEach((v, i) => f16.writeUInt16LE(v, 2 * i));
    const path = await file(
      "nan.safetensors",
      handMade(
        {
          a: { dtype: "F32", shape: [3], data_offsets: [0, 12] },
          b: { dtype: "F16", shape: [3], data_offsets: [12, 18] },
        },
        Buffer.concat([f32, f16]),
      ),
    );
    const manifest = await safetensorsFormat.readManifest(path);
    assert.deepEqual(manifest.warnings, []);
    const model = await safetensorsFormat.open(path);
    try {
      const a = await model.readTensor("a");
      assert.deepEqual(scanNonFinite(a.data, a.dtype), { nan: 1, infinite: 1 });
      const b = await model.readTensor("b");
      assert.deepEqual(scanNonFinite(b.data, b.dtype), { nan: 1, infinite: 1 });
      assert.deepEqual(scanNonFinite((await model.readTensor("b", { float32: true })).data), { nan: 1, infinite: 1 });
      assert.equal(
        nonFiniteWarning(path, "a", scanNonFinite(a.data, a.dtype)),
        `${path}: tensor "a" has 1 NaN and 1 infinite value(s)`,
      );
      assert.equal(nonFiniteWarning(path, "c", { nan: 0, infinite: 0 }), undefined);
    } finally {
      await model.close();
    }
    const bf16 = new Uint16Array([0x7fc0, 0xff80, 0x3f80]);
    assert.deepEqual(scanNonFinite(bf16, "bfloat16"), { nan: 1, infinite: 1 });
    assert.deepEqual(scanNonFinite(new Uint8Array([0x7f, 0xff, 0x7e]), "float8_e4m3"), { nan: 2, infinite: 0 });
    assert.deepEqual(scanNonFinite(new Uint8Array([0x7c, 0x7d, 0x7b]), "float8_e5m2"), { nan: 1, infinite: 1 });
  });

  describe("writing", () => {
    it("leaves nothing behind when the tensor source fails midway (single and sharded)", async () => {
      let calls = 0;
      const failing = async () => {
        if (++calls === 20) throw new Error("source broke");
        return undefined;
      };
      await assert.rejects(safetensorsFormat.write(SINGLE, join(dir, "out.safetensors"), failing), /source broke/);
      calls = 0;
      await assert.rejects(
        safetensorsFormat.write(INDEX, join(dir, "out.safetensors.index.json"), failing),
        /source broke/,
      );
      assert.deepEqual(await readdir(dir), []);
    });

    it("refuses data of the wrong length or type, naming the tensor, and writes nothing", async () => {
      await assert.rejects(
        safetensorsFormat.write(SINGLE, join(dir, "out.safetensors"), async (info) =>
          info.name === "float32_35" ? new Float32Array(3) : undefined,
        ),
        (e: unknown) =>
          e instanceof UsageError &&
          /tensor "float32_35" was given 3 values; expected 15 for shape \[3, 5\]/.test(e.message),
      );
      await assert.rejects(
        safetensorsFormat.write(SINGLE, join(dir, "out.safetensors"), async (info) =>
          info.name === "float16_3" ? new Int32Array(3) : undefined,
        ),
        (e: unknown) =>
          e instanceof UsageError &&
          /"float16_3" \(float16\) was given a Int32Array; expected a Float32Array or a Uint16Array/.test(e.message),
      );
      await assert.rejects(
        safetensorsFormat.write(SINGLE, join(dir, "missing", "out.safetensors"), async () => undefined),
        (e: unknown) => e instanceof UsageError && /output folder .*missing does not exist/.test(e.message),
      );
      assert.deepEqual(await readdir(dir), []);
    });
  });
});
