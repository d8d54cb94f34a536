/**
 * `merge --nproc N` and `align --nproc N` on PyTorch models through the real CLI and the user's own torch: each of
 * two gloo ranks gathers its share of the rows' statistics (Gram matrices, Fisher squares, the activations'
 * correlations and moments), summed over the ranks; rank 0 merges and writes. Two ranks write what one writes.
 *
 * Tolerances: the statistics are float64 sums of the same per-row terms, only added in another order (each rank its
 * half, then the two halves), and the rows' activations are float32 forward passes whose batches hold other rows
 * (one 256-row batch against two halves), which may round the last bit differently. RegMean's closed form and
 * Fisher's weighted average carry that to the float32 merged weights at the level of float32 rounding: every
 * tensor within 1e-5 of the largest |value| (as the merges are held against their NumPy references). A permutation
 * is discrete: the aligned models of two ranks are the same bytes as those of one.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PythonWithTorch } from "../../src/core/python/find-python.js";
import type { SoupReport } from "../../src/protocol/worker.js";
import { ALIGN_FACTORY, FACTORY, MLP_STATE_DICTS, makeAlignModels, requireTorch } from "../worker/torch/support.js";
import { runCli } from "./run-cli.js";
import { oneLine, writeData } from "./torch-cli-support.js";

/** A safetensors file's float32 tensors by name, read by hand (8-byte header length, JSON header, raw data). */
async function safetensors(path: string): Promise<Map<string, Float32Array>> {
  const bytes = await readFile(path);
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString("utf8")) as Record<
    string,
    { dtype: string; data_offsets: [number, number] }
  >;
  const out = new Map<string, Float32Array>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__" || entry.dtype !== "F32") continue;
    const [begin, end] = entry.data_offsets;
    const data = bytes.subarray(8 + length + begin, 8 + length + end);
    out.set(name, new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)));
  }
  return out;
}

/** Every tensor of `two` within `relative` × the largest |value| of `one`'s; the largest difference seen. */
async function sameTensors(onePath: string, twoPath: string, relative: number, what: string): Promise<number> {
  const one = await safetensors(onePath);
  const two = await safetensors(twoPath);
  assert.deepEqual([...two.keys()].sort(), [...one.keys()].sort(), `${what}: the same tensors`);
  let largest = 0;
  let worst = 0;
  for (const [name, a] of one) {
    const b = two.get(name)!;
    assert.equal(b.length, a.length, `${what}: ${name}`);
    for (let i = 0; i < a.length; i++) {
      largest = Math.max(largest, Math.abs(a[i]!));
      worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    }
  }
  assert.ok(worst <= relative * Math.max(1, largest), `${what}: two ranks differ from one by ${worst}`);
  return worst;
}

describe("model-soup merge and align --nproc N on PyTorch models", function () {
  this.timeout(600_000);
  let python: PythonWithTorch;
  let dir: string;

  before(async function () {
    python = await requireTorch(this);
    dir = await mkdtemp(join(tmpdir(), "model-soup-torch-merge-ranks-"));
    writeData(python.path, dir);
    makeAlignModels(python, dir);
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function merge(method: string, nproc: string) {
    const out = join(dir, `${method}-nproc${nproc}.safetensors`);
    const reportFile = join(dir, `${method}-nproc${nproc}.json`);
    const run = await runCli(
      ...["merge", ...MLP_STATE_DICTS, "--architecture", FACTORY, "--method", method, "--nproc", nproc],
      ...["--data", join(dir, "data.npz"), "--label", "y", "--test", join(dir, "held.npz")],
      ...["--out", out, "--report", reportFile],
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(await readFile(reportFile, "utf8")) as SoupReport;
    return { out, report, stdout: run.stdout };
  }

  for (const method of ["regmean", "fisher"]) {
    it(`merge --method ${method} --nproc 2 writes the merge --nproc 1 writes; the report says 2 ranks ran`, async () => {
      const one = await merge(method, "1");
      const two = await merge(method, "2");
      assert.match(two.stdout, /backend PyTorch [^,]+, cpu, 2 ranks, /);
      assert.match(two.report.backend, /, 2 ranks, /);
      assert.doesNotMatch(one.report.backend, /ranks/);
      const worst = await sameTensors(one.out, two.out, 1e-5, method);
      console.log(`      ${method}: largest difference of two ranks' merged weights from one's: ${worst}`);
      // The merge is not the plain average (else the statistics would not matter to the test).
      const plain = join(dir, `${method}-plain.safetensors`);
      const average = await runCli("merge", ...MLP_STATE_DICTS, "--out", plain);
      assert.equal(average.code, 0, average.stderr);
      const plainTensors = await safetensors(plain);
      const merged = await safetensors(two.out);
      const fromAverage = Math.max(
        ...[...merged].map(([name, v]) => Math.max(...v.map((x, i) => Math.abs(x - plainTensors.get(name)![i]!)))),
      );
      assert.ok(fromAverage > 1e-3, `${method} is the plain average (${fromAverage})`);
      const [a, b] = [one.report.metrics.merged, two.report.metrics.merged];
      assert.ok(Math.abs(a.loss - b.loss) <= 1e-5 * a.loss, `test loss ${b.loss} vs ${a.loss}`);
      assert.equal(b.metric, a.metric);
    });
  }

  it("align --method activation --nproc 2 writes the same permuted models as --nproc 1; merge --align activation the same merge", async () => {
    const models = [0, 1, 2].map((i) => join(dir, `mlp_s${i}.pt`));
    const common = [...models, "--architecture", `${ALIGN_FACTORY}:build_mlp`, "--data", join(dir, "mlp.npz")];
    const folders: string[] = [];
    for (const nproc of ["1", "2"]) {
      const folder = join(dir, `aligned-nproc${nproc}`);
      const reportFile = join(dir, `aligned-nproc${nproc}.json`);
      const written = await runCli(
        ...["align", ...common, "--label", "y", "--method", "activation", "--nproc", nproc, "--out", folder],
        ...["--report", reportFile],
      );
      assert.equal(written.code, 0, written.stderr);
      const { backend } = JSON.parse(await readFile(reportFile, "utf8")) as { backend: string };
      if (nproc === "2") assert.match(backend, /, cpu, 2 ranks, /);
      else assert.doesNotMatch(backend, /ranks/);
      folders.push(folder);
    }
    const names = (await readdir(folders[0]!)).filter((f) => f.endsWith(".pt")).sort();
    assert.deepEqual(names, ["mlp_s0.pt", "mlp_s1.pt", "mlp_s2.pt"]);
    for (const name of names)
      assert.ok(
        (await readFile(join(folders[1]!, name))).equals(await readFile(join(folders[0]!, name))),
        `${name}: two ranks permute as one`,
      );
    assert.ok(!(await readFile(join(folders[0]!, "mlp_s1.pt"))).equals(await readFile(models[1]!)), "its units moved");

    const outs: string[] = [];
    for (const nproc of ["1", "2"]) {
      const out = join(dir, `merged-aligned-nproc${nproc}.safetensors`);
      const run = await runCli(
        ...["merge", ...common, "--label", "y", "--align", "activation", "--nproc", nproc, "--out", out],
      );
      assert.equal(run.code, 0, run.stderr);
      outs.push(out);
    }
    const worst = await sameTensors(outs[0]!, outs[1]!, 1e-5, "merge --align activation");
    console.log(`      merge --align activation (REPAIRed): largest difference of two ranks' from one's: ${worst}`);
  });

  it("a merge that runs no model refuses --nproc in one line, writing nothing", async () => {
    const out = join(dir, "linear.safetensors");
    const run = await runCli("merge", ...MLP_STATE_DICTS, "--nproc", "2", "--out", out);
    assert.equal(run.code, 2);
    assert.match(oneLine(run.stderr), /--nproc applies to --method regmean\/fisher and --align, which run the models/);
    assert.equal(existsSync(out), false);
    const bad = await runCli(
      ...["merge", ...MLP_STATE_DICTS, "--architecture", FACTORY, "--method", "regmean", "--nproc", "0"],
      ...["--data", join(dir, "data.npz"), "--label", "y"],
    );
    assert.equal(bad.code, 2);
    assert.match(oneLine(bad.stderr), /--nproc expects a whole number of ranks, 1 or more; got 0/);
  });
});

describe("model-soup merge and align --nproc N on TensorFlow.js models", function () {
  this.timeout(300_000);
  const SAMPLE = join(import.meta.dirname, "../../samples/digits");
  const models = [1, 2].map((i) => join(SAMPLE, "models", `ingredient-${i}`, "model.json"));
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "model-soup-tfjs-merge-ranks-"));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("runs as without it and says --nproc applies to PyTorch models only (merge --method regmean, align)", async () => {
    const ignored = /^warning: --nproc applies to PyTorch models only; these TensorFlow\.js models ran on \S+$/m;
    const merged = await runCli(
      ...["merge", ...models, "--method", "regmean", "--data", join(SAMPLE, "soup.csv.gz"), "--nproc", "2"],
      ...["--backend", "wasm", "--out", join(dir, "regmean", "model.json")],
    );
    assert.equal(merged.code, 0, merged.stderr);
    assert.match(merged.stdout, ignored);
    const aligned = await runCli("align", ...models, "--nproc", "2", "--out", join(dir, "aligned"));
    assert.equal(aligned.code, 0, aligned.stderr);
    assert.match(aligned.stdout, ignored);
  });
});
