import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { UsageError } from "../../src/core/errors.js";
import { WorkerClient } from "../../src/client/worker-client.js";
import { WorkerRequests, type ProgressParams } from "../../src/protocol/worker.js";

const lenets = join(import.meta.dirname, "..", "fixtures", "real-models", "tensorspace-converter", "tfjs_lenet");
const lenetA = join(lenets, "a_examples_rawModel", "mnist.json");
const lenetB = join(lenets, "b_test_model", "mnist.json");

describe("worker: soup/compareFiles", function () {
  this.timeout(120_000);
  let client: WorkerClient | undefined;
  afterEach(() => {
    client?.dispose();
    client = undefined;
  });

  it("compares two real TF.js LeNets given as model folders, with progress per tensor", async () => {
    const progress: ProgressParams[] = [];
    client = new WorkerClient({ onProgress: (p) => progress.push(p) });
    const c = await client.request(WorkerRequests.compareFiles, {
      a: dirname(lenetA),
      b: dirname(lenetB),
      bins: 8,
      jobId: "cmp",
    });
    assert.equal(c.a, lenetA, "the folder stands for its model");
    assert.equal(c.matchedBy, "name");
    assert.equal(c.tensors.length, 10);
    for (const t of c.tensors) {
      assert.equal(t.a.histogram.length, 8);
      assert.equal(
        t.b.histogram.reduce((s, n) => s + n, 0),
        t.shape.reduce((s, n) => s * n, 1),
      );
      assert.ok(t.histogramMin <= Math.min(t.a.min, t.b.min) && t.histogramMax >= Math.max(t.a.max, t.b.max));
      assert.ok(t.cosine! > -1 && t.cosine! < 1 && t.relativeDifference! > 0, t.name);
    }
    assert.equal(progress.at(-1)?.step, 10);
    assert.equal(progress.at(-1)?.unit, "tensors");
    assert.equal(progress.at(-1)?.jobId, "cmp");
  });

  it("refuses models of two architectures as a usage error naming both", async () => {
    client = new WorkerClient();
    const keras = join(import.meta.dirname, "..", "fixtures", "keras3", "mlp_a.keras");
    await assert.rejects(client.request(WorkerRequests.compareFiles, { a: lenetA, b: keras }), (e: Error) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.ok(e.message.includes(lenetA) && e.message.includes(keras), e.message);
      return true;
    });
  });
});
