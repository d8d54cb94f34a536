import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CancellationTokenSource } from "vscode-jsonrpc";
import { CancelledError, EngineError, ModelFileError, UsageError } from "../../src/core/errors.js";
import { WorkerRequests } from "../../src/protocol/worker.js";
import { WorkerClient, WorkerDiedError } from "../../src/client/worker-client.js";
import { seededValues, writeSafetensors } from "../support/safetensors-writer.js";

describe("worker client", function () {
  let dir: string;
  let client: WorkerClient | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-worker-"));
  });
  afterEach(async () => {
    client?.dispose();
    client = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function makeModels(count: number, tensors: number, size: number): Promise<string[]> {
    const paths: string[] = [];
    for (let m = 0; m < count; m++) {
      const content: Record<string, { shape: number[]; data: Float32Array }> = {};
      for (let t = 0; t < tensors; t++)
        content[`layer${t}.weight`] = { shape: [size], data: seededValues(m * 1000 + t, size) };
      const path = join(dir, `model${m}.safetensors`);
      await writeSafetensors(path, content);
      paths.push(path);
    }
    return paths;
  }

  it("rejects pending requests with a clear error when the worker dies", async () => {
    const models = await makeModels(2, 2, 4);
    client = new WorkerClient();
    const pending = client.request(WorkerRequests.merge, {
      models,
      method: "linear",
      out: join(dir, "out.safetensors"),
    });
    process.kill(client.pid!, "SIGKILL");
    await assert.rejects(
      pending,
      (e: unknown) => e instanceof WorkerDiedError && /stopped \(SIGKILL\)/.test((e as Error).message),
    );
    await assert.rejects(
      client.request(WorkerRequests.merge, { models, method: "linear", out: join(dir, "x.safetensors") }),
      WorkerDiedError,
    );
    assert.deepEqual((await readdir(dir)).sort(), ["model0.safetensors", "model1.safetensors"]);
  });

  it("cancels a merge part way and leaves no file behind", async () => {
    const models = await makeModels(3, 40, 50_000);
    const cancel = new CancellationTokenSource();
    let last = { step: 0, totalSteps: 0 };
    client = new WorkerClient({
      onProgress: (p) => {
        last = p;
        cancel.cancel();
      },
    });
    const out = join(dir, "merged.safetensors");
    await assert.rejects(
      client.request(WorkerRequests.merge, { models, method: "linear", out }, cancel.token),
      CancelledError,
    );
    assert.ok(last.step > 0 && last.step < last.totalSteps, `stopped after ${last.step} of ${last.totalSteps} bytes`);
    assert.deepEqual((await readdir(dir)).sort(), ["model0.safetensors", "model1.safetensors", "model2.safetensors"]);
  });

  it("cancels a learned soup within a step, with progress delivered live, and writes nothing", async () => {
    const cancel = new CancellationTokenSource();
    const steps: number[] = [];
    client = new WorkerClient({
      onProgress: (p) => {
        if (p.phase !== "learning") return;
        steps.push(p.step);
        if (p.step === 2) cancel.cancel();
      },
    });
    const models = [1, 2, 3].map((i) => join("samples/digits/models", `ingredient-${i}`, "model.json"));
    const out = join(dir, "learned", "model.json");
    const learning = client.request(
      WorkerRequests.learn,
      {
        models,
        data: { path: "samples/digits/soup.csv.gz" },
        optimizer: "adam",
        batchSize: 32,
        maxSteps: 20,
        backend: "cpu",
        out,
      },
      cancel.token,
    );
    await assert.rejects(learning, CancelledError);
    assert.ok(steps.length >= 2 && steps.length <= 4, `progress steps seen: ${steps.join(", ")}`);
    assert.deepEqual(await readdir(dir), []);
  });

  it("inspects models: formats, tensors and the compatibility report", async () => {
    const models = await makeModels(2, 2, 4);
    client = new WorkerClient();
    const report = await client.request(WorkerRequests.inspect, { paths: models });
    assert.equal(report.compatible, true);
    assert.deepEqual(
      report.models.map((m) => [m.format, m.parameters]),
      [
        ["safetensors", 8],
        ["safetensors", 8],
      ],
    );
  });

  it("computes the per-layer diff's statistics", async () => {
    const [a, b] = await makeModels(2, 2, 4);
    client = new WorkerClient();
    const { tensors } = await client.request(WorkerRequests.layerStats, { model: a!, reference: b! });
    assert.deepEqual(
      tensors.map((t) => t.name),
      ["layer0.weight", "layer1.weight"],
    );
    const values = seededValues(0, 4);
    const mean = values.reduce((s, v) => s + v, 0) / 4;
    assert.ok(Math.abs(tensors[0]!.mean - mean) < 1e-6);
    assert.ok(tensors[0]!.relativeChange! > 0);
    const same = await client.request(WorkerRequests.layerStats, { model: a!, reference: a! });
    assert.equal(same.tensors[0]!.relativeChange, 0);
  });

  it("turns the worker's errors back into the kinds they were", async () => {
    const models = await makeModels(2, 2, 4);
    client = new WorkerClient();
    await assert.rejects(
      client.request(WorkerRequests.merge, {
        models: [...models, join(dir, "missing.safetensors")],
        method: "linear",
        out: join(dir, "o.safetensors"),
      }),
      (e: unknown) => e instanceof ModelFileError && e.file.endsWith("missing.safetensors"),
    );
    await assert.rejects(
      client.request(WorkerRequests.merge, { models, method: "no-such-method", out: join(dir, "o.safetensors") }),
      (e: unknown) =>
        e instanceof UsageError && !(e instanceof EngineError) && /unknown merge method/.test((e as Error).message),
    );
    await assert.rejects(
      client.request(WorkerRequests.merge, { models, method: "linear", out: models[0]! }),
      (e: unknown) => e instanceof ModelFileError && /inputs are never modified/.test((e as Error).message),
    );
  });
});
