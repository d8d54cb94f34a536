import assert from "node:assert/strict";
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromFloat32 } from "../../../src/core/convert.js";
import { CancelledError, UsageError } from "../../../src/core/errors.js";
import { safetensorsFormat } from "../../../src/core/formats/safetensors/index.js";
import { linearCombine, streamLinearMerge, streamMerge } from "../../../src/core/merge/streaming/index.js";
import type { ModelFile, TensorInfo } from "../../../src/core/model.js";

const FIXTURES = "test/fixtures/real-models/safetensors-jl-fixtures";
const SINGLE = `${FIXTURES}/non_sharded/model.safetensors`;
const INDEX = `${FIXTURES}/sharded/model.safetensors.index.json`;
const MERGED_DTYPES = new Set(["float64", "float32", "float16", "bfloat16"]);

let dir: string;

async function withModel<T>(path: string, run: (m: ModelFile) => Promise<T>): Promise<T> {
  const model = await safetensorsFormat.open(path);
  try {
    return await run(model);
  } finally {
    await model.close();
  }
}

/** A second ingredient of the same layout: every float value v becomes 1 - v/2 (others kept). */
async function makeSibling(path: string): Promise<void> {
  await withModel(INDEX, (fixture) =>
    safetensorsFormat.write(INDEX, path, async (info: TensorInfo) => {
      if (!MERGED_DTYPES.has(info.dtype)) return undefined;
      const values = (await fixture.readTensor(info.name, { float32: true })).data as Float32Array;
      return values.map((v) => 1 - v / 2);
    }),
  );
}

/** The merge computed in memory from whole tensors: w_0·x_0 + w_1·x_1 + ... left to right, one rounding to float32. */
async function inMemoryLinear(inputs: ModelFile[], weights: number[], name: string): Promise<Float32Array> {
  const tensors: Float32Array[] = [];
  for (const input of inputs) tensors.push((await input.readTensor(name, { float32: true })).data as Float32Array);
  return tensors[0]!.map((v, i) =>
    tensors.slice(1).reduce((sum, t, k) => sum + weights[k + 1]! * t[i]!, weights[0]! * v),
  );
}

function bytes(data: ArrayBufferView): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

describe("streaming merge", () => {
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-stream-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("merges the sharded fixture into sharded output that re-reads as the in-memory merge", async () => {
    const sibling = join(dir, "sibling.safetensors.index.json");
    await makeSibling(sibling);
    const outDir = join(dir, "out");
    await mkdir(outDir);
    const target = join(outDir, "soup.safetensors.index.json");
    // Mixed layouts: the sharded fixture (template), a sharded sibling and the single-file fixture.
    const inputs = [INDEX, sibling, SINGLE];
    const weights = [0.5, 0.3, 0.2];
    const progress: Array<[number, number]> = [];
    // Pieces of 7 elements: every tensor of 15 or 105 values is cut, the last piece short.
    const result = await streamLinearMerge({
      inputs,
      weights,
      target,
      pieceElements: 7,
      onProgress: (done, total) => progress.push([done, total]),
    });

    assert.deepEqual((await readdir(outDir)).sort(), [
      ...[1, 2, 3, 4, 5, 6].map((k) => `soup-0000${k}-of-00006.safetensors`),
      "soup.safetensors.index.json",
    ]);
    assert.equal(result.files.length, 7);
    const manifest = await safetensorsFormat.readManifest(target);
    assert.deepEqual(manifest.tensors, (await safetensorsFormat.readManifest(INDEX)).tensors);
    const index = JSON.parse(await readFile(target, "utf8"));
    assert.equal(index.metadata.total_size, 4305);

    let merged = 0;
    const models = await Promise.all(inputs.map((p) => safetensorsFormat.open(p)));
    const out = await safetensorsFormat.open(target);
    try {
      for (const info of manifest.tensors) {
        const written = await out.readTensor(info.name);
        const first = (await models[0]!.readTensor(info.name)).data;
        if (MERGED_DTYPES.has(info.dtype)) {
          merged++;
          const expected = await inMemoryLinear(models, weights, info.name);
          assert.deepEqual(bytes(written.data), bytes(fromFloat32(expected, info.dtype)), info.name);
          assert.notDeepEqual(bytes(written.data), bytes(first), `${info.name} really changed`);
        } else {
          assert.deepEqual(bytes(written.data), bytes(first), `${info.name} copied from the first input`);
        }
      }
    } finally {
      await Promise.all([out, ...models].map((m) => m.close()));
    }
    assert.equal(merged, 12);
    assert.equal(result.merged, 12);
    assert.equal(result.copied.length, 24);
    assert.ok(result.warnings.some((w) => /float8_e4m3fn_3.*not merged/.test(w)));

    const pieces = manifest.tensors.reduce(
      (n, t) => n + (MERGED_DTYPES.has(t.dtype) ? Math.ceil(t.shape.reduce((a, b) => a * b) / 7) : 1),
      0,
    );
    assert.equal(progress.length, pieces);
    const total = 3 * 4305;
    assert.ok(progress.every(([, t]) => t === total));
    assert.deepEqual(progress.at(-1), [total, total]);
    assert.ok(
      progress.every(([d], i) => i === 0 || d > progress[i - 1]![0]),
      "progress grows",
    );
    assert.equal(result.bytesRead, total);

    // Whole tensors in one piece give the very same files.
    const wholeDir = join(dir, "whole");
    await mkdir(wholeDir);
    await streamLinearMerge({ inputs, weights, target: join(wholeDir, "soup.safetensors.index.json") });
    for (const name of await readdir(outDir))
      assert.deepEqual(await readFile(join(wholeDir, name)), await readFile(join(outDir, name)), name);
  });

  it("the fused pass writes the same files as the separate passes, which still count a NaN and refuse an overflow", async () => {
    // A sibling with one NaN in float32_35 and one in bfloat16_357 (the sixth and the last piece of 7 values).
    const withNaN = join(dir, "nan.safetensors");
    await withModel(SINGLE, (fixture) =>
      safetensorsFormat.write(SINGLE, withNaN, async (info: TensorInfo) => {
        if (!MERGED_DTYPES.has(info.dtype)) return undefined;
        const values = ((await fixture.readTensor(info.name, { float32: true })).data as Float32Array).map(
          (v) => 0.25 - v,
        );
        if (info.name === "float32_35") values[12] = NaN;
        if (info.name === "bfloat16_357") values[104] = NaN;
        return values;
      }),
    );
    const inputs = [SINGLE, withNaN, SINGLE];
    const weights = [0.5, 0.3, 0.2];
    const fusedTarget = join(dir, "fused.safetensors");
    const separateTarget = join(dir, "separate.safetensors");
    const fusedRun = await streamLinearMerge({ inputs, weights, target: fusedTarget, pieceElements: 7 });
    const separateRun = await streamMerge({
      inputs,
      target: separateTarget,
      combine: linearCombine(weights),
      elementwise: true,
      pieceElements: 7,
    });
    assert.deepEqual(await readFile(fusedTarget), await readFile(separateTarget));
    assert.deepEqual(
      fusedRun.warnings,
      separateRun.warnings.map((w) => w.replace(separateTarget, fusedTarget)),
    );
    assert.ok(fusedRun.warnings.some((w) => /"float32_35" has 1 NaN/.test(w)));
    assert.ok(fusedRun.warnings.some((w) => /"bfloat16_357" has 1 NaN/.test(w)));

    // Finite bfloat16 inputs whose weighted sum rounds to infinity: refused, nothing written, either way.
    for (const [label, run] of [
      ["fused", (target: string) => streamLinearMerge({ inputs: [SINGLE, SINGLE], weights: [3e38, 3e38], target })],
      [
        "separate",
        (target: string) =>
          streamMerge({ inputs: [SINGLE, SINGLE], target, combine: linearCombine([3e38, 3e38]), elementwise: true }),
      ],
    ] as const) {
      const target = join(dir, `${label}-overflow.safetensors`);
      await assert.rejects(run(target), /overflows (float64|float32|bfloat16|float16)/, label);
      assert.ok(!(await readdir(dir)).some((n) => n.startsWith(`${label}-overflow`)), `${label}: nothing written`);
    }
  });

  it("linearCombine equals the left-to-right float64 sum rounded once, for 1 to 9 inputs and odd lengths", () => {
    const length = 20_011; // more than two accumulator chunks, not a multiple of them
    for (let count = 1; count <= 9; count++) {
      const tensors = Array.from({ length: count }, (_, k) =>
        Float32Array.from({ length }, (_, i) => Math.sin(i * 0.37 + k) * 10 ** (k % 3)),
      );
      const weights = Array.from({ length: count }, (_, k) => (k % 2 ? -1 : 1) / (k + 1.5));
      const info = {
        name: "t",
        shape: [length],
        dtype: "float32" as const,
        layer: "t",
        index: 0,
        count: 1,
        offset: 0,
        output: new Float32Array(length),
      };
      const out = linearCombine(weights)(tensors, info) as Float32Array;
      const expected = tensors[0]!.map((v, i) =>
        tensors.slice(1).reduce((sum, t, k) => sum + weights[k + 1]! * t[i]!, weights[0]! * v),
      );
      assert.deepEqual(bytes(out), bytes(expected), `${count} inputs`);
    }
  });

  it("gives a plugged-in combine function every input's float32 tensor and writes what it returns", async () => {
    const target = join(dir, "max.safetensors");
    const sibling = join(dir, "sibling.safetensors.index.json");
    await makeSibling(sibling);
    const seen: string[] = [];
    await streamMerge({
      inputs: [SINGLE, sibling],
      target,
      combine: (tensors, info) => {
        seen.push(info.name);
        assert.equal(tensors.length, 2);
        assert.equal(info.output.length, tensors[0]!.length);
        assert.equal(info.count, 36);
        return tensors[0]!.map((v, i) => Math.max(v, tensors[1]![i]!));
      },
      metadata: { method: "elementwise-max" },
    });
    assert.equal(seen.length, 12);
    const header = await withModel(target, async (m) => m.manifest.metadata);
    assert.deepEqual(header, { method: "elementwise-max" });
    const a = await withModel(SINGLE, async (m) => (await m.readTensor("float32_357")).data as Float32Array);
    const b = await withModel(sibling, async (m) => (await m.readTensor("float32_357")).data as Float32Array);
    const out = await withModel(target, async (m) => (await m.readTensor("float32_357")).data as Float32Array);
    assert.deepEqual(
      Array.from(out),
      Array.from(a, (v, i) => Math.max(v, b[i]!)),
    );
  });

  it("leaves no output and no temporary file when cancelled midway", async () => {
    const first = { isCancellationRequested: false };
    await assert.rejects(
      streamLinearMerge({
        inputs: [INDEX, SINGLE],
        weights: [0.5, 0.5],
        target: join(dir, "soup.safetensors.index.json"),
        onProgress: (done) => {
          if (done > 3000) first.isCancellationRequested = true;
        },
        cancel: first,
      }),
      CancelledError,
    );
    assert.deepEqual(await readdir(dir), []);
    const token = { isCancellationRequested: false };
    let calls = 0;
    await assert.rejects(
      streamMerge({
        inputs: [SINGLE, SINGLE],
        target: join(dir, "soup.safetensors"),
        combine: (tensors) => {
          if (++calls === 5) token.isCancellationRequested = true;
          return tensors[0]!;
        },
        cancel: token,
      }),
      CancelledError,
    );
    assert.deepEqual(await readdir(dir), []);
  });

  it("refuses incompatible inputs, bad weights and an input as target, writing nothing", async () => {
    const other = join(dir, "other.safetensors");
    // A model whose only tensor has the fixture's name but another shape.
    const header = Buffer.from(
      JSON.stringify({ float32_3: { dtype: "F32", shape: [1, 3], data_offsets: [0, 12] } }).padEnd(64, " "),
    );
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(header.length));
    await writeFile(other, Buffer.concat([length, header, Buffer.alloc(12)]));
    await assert.rejects(
      streamLinearMerge({ inputs: [SINGLE, other], weights: [1, 1], target: join(dir, "x.safetensors") }),
      (e: unknown) => e instanceof UsageError && /has no tensor "bfloat16_3"/.test(e.message),
    );
    await assert.rejects(
      streamLinearMerge({ inputs: [other, SINGLE], weights: [1, 1], target: join(dir, "x.safetensors") }),
      (e: unknown) =>
        e instanceof UsageError && /tensor "float32_3" is float32 \[3\] in .* but float32 \[1, 3\]/.test(e.message),
    );
    await assert.rejects(
      streamLinearMerge({ inputs: [SINGLE], weights: [1, 2], target: join(dir, "x.safetensors") }),
      /one weight per input/,
    );
    await assert.rejects(
      streamLinearMerge({ inputs: [SINGLE], weights: [NaN], target: join(dir, "x.safetensors") }),
      /finite/,
    );
    await assert.rejects(
      streamLinearMerge({ inputs: [other, other], weights: [1, 1], target: other }),
      /would overwrite the input file/,
    );
    assert.deepEqual(await readdir(dir), ["other.safetensors"]);
  });
});
