import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { permutationSymmetry, permuteTensors } from "../../../src/core/align/index.js";
import { UsageError } from "../../../src/core/errors.js";
import { openModel, readManifest } from "../../../src/core/formats/registry.js";
import { mergeModelFiles } from "../../../src/core/soup/merge-files.js";

const A = "test/fixtures/keras3/mlp_a.keras";
const B = "test/fixtures/keras3/mlp_b.keras";

async function floats(path: string) {
  const file = await openModel(path);
  try {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const t of file.manifest.tensors)
      out.set(t.name, {
        shape: t.shape,
        data: (await file.readTensor(t.name, { float32: true })).data as Float32Array,
      });
    return out;
  } finally {
    await file.close();
  }
}

describe("aligned merges of model files", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-aligned-"));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it("averages each ingredient after permuting its units", async () => {
    const plan = permutationSymmetry(await readManifest(A));
    assert.equal(plan.groups.length, 1);
    const group = plan.groups[0]!;
    const perm = Array.from({ length: group.size }, (_, i) => (i + 5) % group.size);
    const target = join(dir, "merged.keras");
    await mergeModelFiles({
      spec: { method: "uniform", params: {}, ingredients: [{ path: A }, { path: B }] },
      target,
      alignment: { permutations: [{}, { [group.id]: perm }] },
    });
    const a = await floats(A);
    const b = permuteTensors(plan, { [group.id]: perm }, await floats(B));
    const merged = await floats(target);
    for (const [name, t] of a) {
      const expected = t.data.map((v, i) => (v + b.get(name)![i]!) / 2);
      merged.get(name)!.data.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `${name}[${i}]`));
    }
  });

  it("refuses permutations of a group the model does not have, and writes nothing", async () => {
    const target = join(dir, "merged.keras");
    await assert.rejects(
      mergeModelFiles({
        spec: { method: "uniform", params: {}, ingredients: [{ path: A }, { path: B }] },
        target,
        alignment: { permutations: [{}, { nowhere: [1, 0] }] },
      }),
      (e: unknown) => e instanceof UsageError && /"nowhere", which is no permutation group/.test(e.message),
    );
    const plan = permutationSymmetry(await readManifest(A));
    await assert.rejects(
      mergeModelFiles({
        spec: { method: "uniform", params: {}, ingredients: [{ path: A }, { path: B }] },
        target,
        alignment: { permutations: [{}, { [plan.groups[0]!.id]: [0, 0, 1] }] },
      }),
      (e: unknown) => e instanceof UsageError && /expected a permutation of/.test(e.message),
    );
    assert.deepEqual(await readdir(dir), []);
  });
});
