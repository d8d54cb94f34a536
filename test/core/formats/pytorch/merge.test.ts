/**
 * Fixed merges of PyTorch checkpoints in-process: to safetensors through the streaming merge (read in pieces
 * from the zip's stored entries), to .pt one tensor at a time; both give the same floats, integers are copied.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openModel } from "../../../../src/core/formats/registry.js";
import { canStream } from "../../../../src/core/formats/stream-readers.js";
import { type ProgressUnit, mergeModelFiles } from "../../../../src/core/soup/merge-files.js";
import type { MergeSpec } from "../../../../src/core/merge/spec.js";

const DIR = join("test", "fixtures", "pytorch");
const A = join(DIR, "cnn_a.pth");
const B = join(DIR, "cnn_b.pth");
const TS = join(DIR, "torchscript.pt");

async function floats(path: string): Promise<Map<string, number[]>> {
  const model = await openModel(path);
  try {
    const out = new Map<string, number[]>();
    for (const t of model.manifest.tensors)
      out.set(t.name, Array.from((await model.readTensor(t.name, { float32: true })).data as Float32Array));
    return out;
  } finally {
    await model.close();
  }
}

describe("PyTorch checkpoints: fixed merges, streamed and tensor by tensor", () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), "model-soup-pt-merge-"))));
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  const run = async (spec: MergeSpec, file: string) => {
    const units = new Set<ProgressUnit>();
    await mergeModelFiles({ spec, target: join(dir, file), onProgress: (_d, _t, unit) => units.add(unit) });
    return { path: join(dir, file), units: [...units] };
  };

  it("streams torch.save files to safetensors (progress in bytes) and writes .pt tensor by tensor, with equal results", async () => {
    const spec: MergeSpec = {
      method: "ties",
      params: { density: 0.5 },
      ingredients: [
        { path: B, weight: 1 },
        { path: TS, weight: 1 },
      ],
      base: A,
    };
    const streamed = await run(spec, "soup.safetensors");
    const byTensor = await run(spec, "soup.pt");
    assert.deepEqual(streamed.units, ["bytes"]);
    assert.deepEqual(byTensor.units, ["tensors"]);
    const x = await floats(streamed.path);
    const y = await floats(byTensor.path);
    const a = await floats(A);
    let changed = 0;
    for (const [name, values] of y) {
      assert.deepEqual(x.get(name), values, name);
      if (values.some((v, i) => v !== a.get(name)![i])) changed++;
    }
    assert.ok(changed > 0, "the merge changed the weights");
    // Integer tensors are the base's in both paths (B's counter is 3, the base A's 1): one rule, merge/plan.ts keptFrom.
    assert.deepEqual(x.get("1.num_batches_tracked"), [1]);
  });

  it("copies integer tensors (num_batches_tracked) from the first model instead of averaging them", async () => {
    const spec: MergeSpec = { method: "uniform", params: {}, ingredients: [{ path: A }, { path: B }] };
    for (const file of ["u.safetensors", "u.pt"]) {
      const { path } = await run(spec, file);
      const model = await openModel(path);
      try {
        assert.deepEqual(
          Array.from((await model.readTensor("1.num_batches_tracked")).data as BigInt64Array),
          [1n],
          file,
        );
      } finally {
        await model.close();
      }
    }
  });

  it("falls back to tensor-by-tensor reads for views that are not plain runs of bytes", async () => {
    const views = join(DIR, "views.pt");
    assert.equal(await canStream([views], join(dir, "v.safetensors")), false);
    assert.equal(await canStream([A, B], join(dir, "v.safetensors")), true);
    assert.equal(await canStream([A, B], join(dir, "v.pt")), false);
    const { path, units } = await run(
      { method: "uniform", params: {}, ingredients: [{ path: views }, { path: views }] },
      "v.safetensors",
    );
    assert.deepEqual(units, ["tensors"]);
    const merged = await floats(path);
    const input = await floats(views);
    for (const [name, values] of input) assert.deepEqual(merged.get(name), values, name);
    assert.deepEqual((await readdir(dir)).sort(), ["v.safetensors"]);
  });
});
