/**
 * PyTorch state dicts through the CLI, with no Python involved in reading or writing: inspect, merge to
 * safetensors (the default) and to a .pt that real torch.load(weights_only=True) reads back.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toFloat32 } from "../../src/core/convert.js";
import { openModel } from "../../src/core/formats/registry.js";
import type { ModelFile } from "../../src/core/model.js";
import { runPython } from "../support/python-torch.js";
import { runCli } from "./run-cli.js";

const DIR = join("test", "fixtures", "pytorch");
const CNN_A = join(DIR, "cnn_a.pth");
const CNN_B = join(DIR, "cnn_b.pth");

async function withModel<T>(path: string, work: (m: ModelFile) => Promise<T>): Promise<T> {
  const model = await openModel(path);
  try {
    return await work(model);
  } finally {
    await model.close();
  }
}

/** Checks `merged` is the uniform average of the two CNNs, with num_batches_tracked copied from the first. */
async function assertAverage(merged: string): Promise<void> {
  await withModel(CNN_A, (a) =>
    withModel(CNN_B, (b) =>
      withModel(merged, async (m) => {
        assert.deepEqual(m.manifest.tensors.map((t) => t.name).sort(), a.manifest.tensors.map((t) => t.name).sort());
        for (const info of a.manifest.tensors) {
          const out = await m.readTensor(info.name);
          assert.equal(out.dtype, info.dtype, info.name);
          assert.deepEqual(out.shape, info.shape, info.name);
          if (info.dtype === "int64") {
            assert.deepEqual(
              Array.from(out.data as BigInt64Array),
              [1n],
              "num_batches_tracked is copied (1), not averaged with 3",
            );
            continue;
          }
          const x = (await a.readTensor(info.name)).data as Float32Array;
          const y = (await b.readTensor(info.name)).data as Float32Array;
          const got = toFloat32(out.data, out.dtype);
          for (let i = 0; i < x.length; i++)
            assert.ok(Math.abs(got[i]! - (x[i]! + y[i]!) / 2) < 1e-6, `${info.name}[${i}]`);
        }
      }),
    ),
  );
}

describe("PyTorch state dicts through the CLI", function () {
  this.timeout(180_000);
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), "model-soup-pytorch-"))));
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it("inspect shows a .pt state dict's format and tensors and groups two fine-tunes together", async () => {
    const run = await runCli("inspect", CNN_A, CNN_B, "--json");
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as {
      compatible: boolean;
      models: { format: string; tensors: { name: string; dtype: string }[] }[];
    };
    assert.equal(report.compatible, true);
    assert.deepEqual(
      report.models.map((m) => m.format),
      ["pytorch", "pytorch"],
    );
    assert.equal(report.models[0]!.tensors.find((t) => t.name === "1.num_batches_tracked")?.dtype, "int64");
  });

  it("merges .pt state dicts into safetensors by default (a folder output holds model.safetensors)", async () => {
    const out = join(dir, "soup");
    const run = await runCli("merge", CNN_A, CNN_B, "--out", `${out}/`);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual((await readdir(out)).sort(), ["model.recipe.json", "model.safetensors"]);
    await assertAverage(join(out, "model.safetensors"));
  });

  it("merges into a state-dict .pt that our reader and real torch.load(weights_only=True) read back", async () => {
    const out = join(dir, "soup.pt");
    const run = await runCli("merge", CNN_A, CNN_B, "--out", out);
    assert.equal(run.code, 0, run.stderr);
    await assertAverage(out);
    const printed = runPython(
      [
        "import sys, torch",
        "m = torch.load(sys.argv[1], weights_only=True)",
        "a = torch.load(sys.argv[2], weights_only=True)",
        "b = torch.load(sys.argv[3], weights_only=True)",
        "assert list(m) == list(a), (list(m), list(a))",
        "for k in a:",
        "    assert m[k].dtype == a[k].dtype and m[k].shape == a[k].shape, k",
        "    want = (a[k] + b[k]) / 2 if a[k].is_floating_point() else a[k]",
        "    assert torch.allclose(m[k], want, atol=1e-6), k",
        "print(type(m).__name__, int(m['1.num_batches_tracked']))",
      ].join("\n"),
      [out, CNN_A, CNN_B],
    );
    assert.equal(printed.trim(), "OrderedDict 1");
  });

  it("merges bfloat16 and float16 tensors and keeps their dtypes in a .pt", async () => {
    const out = join(dir, "dtypes.pt");
    const input = join(DIR, "dtypes.pt");
    const run = await runCli("merge", input, input, "--out", out);
    assert.equal(run.code, 0, run.stderr);
    const printed = runPython(
      [
        "import sys, torch",
        "m = torch.load(sys.argv[1], weights_only=True)",
        "a = torch.load(sys.argv[2], weights_only=True)",
        "assert all(m[k].dtype == a[k].dtype and torch.equal(m[k], a[k]) for k in a), [(k, m[k], a[k]) for k in a]",
        "print(m['bf16'].dtype, m['f16'].dtype, tuple(m['scalar'].shape))",
      ].join("\n"),
      [out, input],
    );
    assert.equal(printed.trim(), "torch.bfloat16 torch.float16 ()");
  });

  it("refuses an output that is neither .safetensors nor .pt/.pth in one line, writing nothing", async () => {
    const run = await runCli("merge", CNN_A, CNN_B, "--out", join(dir, "soup.keras"));
    assert.equal(run.code, 2);
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    assert.match(run.stderr, /\.safetensors \(the default\) or \.pt \/ \.pth/);
    assert.deepEqual(await readdir(dir), []);
  });

  it("refuses a hostile .pt given to merge in one line, writing nothing", async () => {
    const run = await runCli("merge", CNN_A, join(DIR, "hostile", "os_system.pt"), "--out", join(dir, "soup.pt"));
    assert.equal(run.code, 2);
    assert.match(run.stderr, /refused: the pickle calls os\.system/);
    assert.deepEqual(await readdir(dir), []);
  });
});
