/**
 * The worker resolves paths as the CLI does (the editor sends what the user picked): a folder of model folders
 * for a merge, a model folder for inspect, an --out folder; and refuses an output onto an input before any work.
 */
import assert from "node:assert/strict";
import { cp, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ModelFileError } from "../../src/core/errors.js";
import { WorkerRequests } from "../../src/protocol/worker.js";
import { WorkerClient } from "../../src/client/worker-client.js";

describe("worker: model folders and outputs", function () {
  let dir: string;
  let client: WorkerClient;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-worker-paths-"));
    for (const i of [1, 2])
      await cp(join("samples/digits/models", `ingredient-${i}`), join(dir, "models", `ingredient-${i}`), {
        recursive: true,
      });
    client = new WorkerClient();
  });
  after(async () => {
    client.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it("merges a folder of model folders into an --out folder", async () => {
    const result = await client.request(WorkerRequests.merge, {
      models: [join(dir, "models")],
      method: "linear",
      out: join(dir, "soup"),
    });
    assert.equal(result.model, join(dir, "soup", "model.json"));
    assert.deepEqual((await readdir(join(dir, "soup"))).sort(), [
      "group1-shard1of1.bin",
      "model.json",
      "model.recipe.json",
    ]);
  });

  it("inspects a model folder as its model, and reports a missing path as unreadable", async () => {
    const report = await client.request(WorkerRequests.inspect, {
      paths: [join(dir, "models", "ingredient-1"), join(dir, "missing.h5")],
    });
    assert.deepEqual(
      report.models.map((m) => m.path),
      [join(dir, "models", "ingredient-1", "model.json")],
    );
    assert.deepEqual(
      report.unreadable.map((u) => u.path),
      [join(dir, "missing.h5")],
    );
  });

  it("refuses an output onto an input's folder", async () => {
    await assert.rejects(
      client.request(WorkerRequests.merge, {
        models: [join(dir, "models")],
        method: "linear",
        out: join(dir, "models", "ingredient-1"),
      }),
      (e: unknown) => e instanceof ModelFileError && /would overwrite the input model/.test(e.message),
    );
  });
});
