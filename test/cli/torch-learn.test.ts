/**
 * `model-soup learn` on PyTorch models through the real CLI and the user's own torch (/usr/bin/python3 here):
 * TorchScript fine-tunes with no other flag, state dicts with --architecture or a model-soup.json, the written file
 * scored by plain torch (torch_written_score.py, no Model Soup code), and the one-line failures (no torch at
 * --python, no CUDA, an engine that dies, Ctrl-C).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PythonWithTorch } from "../../src/core/python/find-python.js";
import type { SoupReport } from "../../src/protocol/worker.js";
import { fixture, requireTorch } from "../worker/torch/support.js";
import { freePort } from "../../src/worker/torch/engine-ranks.js";
import { cliCommand, runCli } from "./run-cli.js";
import { oneLine, plainTorchScore, writeData } from "./torch-cli-support.js";

const FACTORY = `${fixture("mlp_factory.py")}:build`;

const parentOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);

/** The pids of the processes running engine.py below `root` (its descendants). */
function enginePids(root: number): number[] {
  const parent = parentOf;
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("engine.py")) continue;
      for (let p = parent(pid); p > 1; p = parent(p))
        if (p === root) {
          out.push(pid);
          break;
        }
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const alive = (pid: number) =>
  existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");

async function waitFor<T>(what: string, probe: () => T | undefined, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts a long learn in the CLI and resolves once its PyTorch engine runs: the CLI child and the engine's pid. */
async function longLearn(dir: string, out: string) {
  const child = spawn(
    process.execPath,
    [
      ...cliCommand(),
      ...["learn", join(dir, "ts"), "--data", join(dir, "data.npz"), "--label", "y", "--out", out],
      ...["--steps", "1000000", "--patience", "1000000"],
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, MODEL_SOUP_VERBOSE: "1" } },
  );
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  await waitFor("the engine", () => (stderr.includes("PyTorch engine:") ? true : undefined));
  const [engine] = await waitFor("the engine's pid", () => {
    const pids = enginePids(child.pid!);
    return pids.length > 0 ? pids : undefined;
  });
  const worker = parentOf(engine!);
  // Learning has begun (progress is not shown off a terminal): give it a moment inside the learner.
  await new Promise((r) => setTimeout(r, 1500));
  return { child, engine: engine!, worker, exited, stderr: () => stderr };
}

describe("model-soup learn on PyTorch models", function () {
  this.timeout(300_000);
  let python: PythonWithTorch;
  let dir: string;

  before(async function () {
    python = await requireTorch(this);
    dir = await mkdtemp(join(tmpdir(), "model-soup-torch-learn-"));
    writeData(python.path, dir);
    await mkdir(join(dir, "ts"));
    await mkdir(join(dir, "sd"));
    for (const i of [0, 1, 2]) {
      await copyFile(fixture(`mlp_ft${i}.ts.pt`), join(dir, "ts", `mlp_ft${i}.ts.pt`));
      await copyFile(fixture(`mlp_ft${i}.pt`), join(dir, "sd", `mlp_ft${i}.pt`));
    }
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("learns a folder of TorchScript fine-tunes with no other flag; plain torch scores the written soup.pt as the report says", async () => {
    const out = join(dir, "soup.pt");
    const reportFile = join(dir, "ts-report.json");
    const run = await runCli(
      ...["learn", join(dir, "ts"), "--data", join(dir, "data.npz"), "--label", "y"],
      ...["--test", join(dir, "held.npz"), "--out", out, "--report", reportFile],
    );
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /TensorFlow\.js|tfjs-node/, "a PyTorch run prints no TF.js advice");
    for (const row of ["mlp_ft0.ts.pt", "uniform soup", "learned soup", "greedy soup", "output ensemble"])
      assert.match(run.stdout, new RegExp(row), row);
    assert.match(run.stdout, /backend PyTorch \d+\.\d+[^,]*, cpu, \/\S*python3/);
    assert.match(run.stdout, /Test rows: 40 from \S*held\.npz/);
    const report = JSON.parse(await readFile(reportFile, "utf8")) as SoupReport;
    assert.match(report.backend, /^PyTorch .*, cpu, /);
    assert.equal(report.metrics.ingredients.length, 3);
    assert.ok(report.learning && report.learning.candidates.some((c) => c.name === "greedy soup"));
    const recipe = JSON.parse(await readFile(join(dir, "soup.recipe.json"), "utf8")) as Record<string, unknown>;
    assert.match(String(recipe.backend), /^PyTorch /);
    assert.equal((recipe.merge as { method: string }).method, "linear");

    const file = plainTorchScore(python.path, {
      model: out,
      template: join(dir, "ts", "mlp_ft0.ts.pt"),
      data: join(dir, "held.npz"),
    });
    // TorchScript ingredients make a TorchScript soup: it runs with torch.jit.load, no architecture needed.
    assert.equal(file.kind, "torchscript");
    assert.ok(
      Math.abs(file.loss - report.metrics.merged.loss) <= 1e-4 * file.loss,
      `${file.loss} vs ${report.metrics.merged.loss}`,
    );
    assert.ok(Math.abs(report.metrics.merged.metric - file.accuracy) < 1e-6);
    // Each ingredient's row is its own file's score.
    const first = plainTorchScore(python.path, {
      model: join(dir, "ts", "mlp_ft0.ts.pt"),
      data: join(dir, "held.npz"),
    });
    assert.ok(Math.abs(first.loss - report.metrics.ingredients[0]!.loss) <= 1e-4 * first.loss);
    assert.ok(Math.abs(report.metrics.ingredients[0]!.metric - first.accuracy) < 1e-6);
  });

  it("--nproc 2 learns the coefficients --nproc 1 learns (two gloo ranks, each its share of every batch)", async () => {
    const learn = async (nproc: string) => {
      const report = join(dir, `nproc-${nproc}.json`);
      const run = await runCli(
        ...["learn", join(dir, "ts"), "--data", join(dir, "data.npz"), "--label", "y", "--granularity", "layer"],
        ...["--steps", "30", "--nproc", nproc, "--report", report],
      );
      assert.equal(run.code, 0, run.stderr);
      return { stdout: run.stdout, report: JSON.parse(await readFile(report, "utf8")) as SoupReport };
    };
    const one = await learn("1");
    const two = await learn("2");
    assert.match(two.stdout, /backend PyTorch [^,]+, cpu, 2 ranks, /);
    assert.doesNotMatch(one.stdout, /ranks/);
    const values = (r: SoupReport) => Object.values(r.coefficients).flat();
    assert.equal(values(two.report).length, values(one.report).length);
    values(two.report).forEach((c, i) =>
      assert.ok(Math.abs(c - values(one.report)[i]!) < 1e-5, `${c} vs ${values(one.report)[i]}`),
    );
    const refused = await runCli("learn", join(dir, "ts"), "--data", join(dir, "data.npz"), "--nproc", "1.5");
    assert.equal(refused.code, 2);
    assert.match(oneLine(refused.stderr), /--nproc expects a whole number of ranks, 1 or more; got 1\.5/);
  });

  it("two machines as torchrun takes them (--nnodes 2 --node-rank 0|1, the same command on each) learn what one rank learns", async () => {
    const base = [
      ...["learn", join(dir, "ts"), "--data", join(dir, "data.npz"), "--label", "y", "--granularity", "layer"],
      ...["--steps", "30"],
    ];
    const oneReport = join(dir, "one-node.json");
    const one = await runCli(...base, "--report", oneReport);
    assert.equal(one.code, 0, one.stderr);
    // Two "machines" on this one: node 1 first, so its rank waits for node 0's rank 0 to listen.
    const port = String(await freePort());
    const out = join(dir, "nodes-soup.pt");
    const nodes = (rank: string, report: string) =>
      runCli(
        ...base,
        ...["--nnodes", "2", "--node-rank", rank, "--master-addr", "127.0.0.1", "--master-port", port],
        "--out",
        out,
        "--report",
        report,
      );
    const followerReport = join(dir, "node-1.json");
    const follower = nodes("1", followerReport);
    const leaderReport = join(dir, "node-0.json");
    const leader = await nodes("0", leaderReport);
    const followed = await follower;
    assert.equal(leader.code, 0, leader.stderr);
    assert.equal(followed.code, 0, followed.stderr);
    assert.match(leader.stdout, /backend PyTorch [^,]+, cpu, 2 ranks, /);
    assert.match(
      followed.stdout,
      /node 1 of 2: rank 1 \(PyTorch [^)]+\) followed node 0 to the end; node 0 reports and writes, nothing was written here/,
    );
    assert.ok(existsSync(out) && existsSync(leaderReport));
    assert.ok(!existsSync(followerReport), "node 1 wrote no report");
    const values = (path: string) =>
      Object.values((JSON.parse(readFileSync(path, "utf8")) as SoupReport).coefficients).flat();
    assert.equal(values(leaderReport).length, values(oneReport).length);
    values(leaderReport).forEach((c, i) =>
      assert.ok(Math.abs(c - values(oneReport)[i]!) < 1e-5, `${c} vs ${values(oneReport)[i]}`),
    );

    for (const [flags, message] of [
      [["--nnodes", "2"], /--nnodes above 1 needs --master-addr \(node 0's address\) and --master-port/],
      [
        ["--nnodes", "2", "--node-rank", "2", "--master-addr", "h", "--master-port", "1"],
        /--node-rank 2 needs --nnodes above it/,
      ],
      [
        ["--nnodes", "2", "--master-addr", "h", "--master-port", "70000"],
        /--master-port expects a TCP port, 1 to 65535; got 70000/,
      ],
      [["--nnodes", "0.5"], /--nnodes expects a whole number of machines, 1 or more; got 0\.5/],
    ] as const) {
      const refused = await runCli(...base, ...flags);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(oneLine(refused.stderr), message);
    }
  });

  it("learns state dicts with --architecture file.py:build, layer by layer, into a .safetensors plain torch reads", async () => {
    const out = join(dir, "soup.safetensors");
    const run = await runCli(
      ...["learn", join(dir, "sd"), "--data", join(dir, "data.npz"), "--label", "y", "--test", join(dir, "held.npz")],
      ...["--architecture", FACTORY, "--granularity", "layer", "--steps", "40", "--out", out, "--json"],
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as SoupReport;
    assert.match(report.backend, /^PyTorch /);
    assert.deepEqual(Object.keys(report.coefficients as object).sort(), ["0", "1", "4"]);
    assert.equal(report.output?.model, out);
    const file = plainTorchScore(python.path, { model: out, factory: FACTORY, data: join(dir, "held.npz") });
    assert.ok(
      Math.abs(file.loss - report.metrics.merged.loss) <= 1e-4 * file.loss,
      `${file.loss} vs ${report.metrics.merged.loss}`,
    );
    assert.ok(Math.abs(report.metrics.merged.metric - file.accuracy) < 1e-6);
    const recipe = JSON.parse(await readFile(join(dir, "soup.recipe.json"), "utf8")) as {
      learning: { architecture: string };
    };
    assert.equal(recipe.learning.architecture, FACTORY);
  });

  it("takes the architecture from a model-soup.json beside the checkpoints (its file relative to that folder)", async () => {
    const folder = join(dir, "recorded");
    await mkdir(folder);
    for (const i of [0, 1]) await copyFile(fixture(`mlp_ft${i}.pt`), join(folder, `mlp_ft${i}.pt`));
    await copyFile(fixture("mlp_factory.py"), join(folder, "build_mlp.py"));
    await writeFile(join(folder, "model-soup.json"), JSON.stringify({ architecture: "build_mlp.py:build" }));
    const run = await runCli(
      "learn",
      folder,
      "--data",
      join(dir, "data.npz"),
      "--label",
      "y",
      "--steps",
      "20",
      "--json",
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as SoupReport;
    assert.match(report.backend, /^PyTorch /);
    assert.equal(report.metrics.ingredients.length, 2);
  });

  it("refuses state dicts with no architecture in one line saying what to give, and writes nothing", async () => {
    const out = join(dir, "none.safetensors");
    const run = await runCli("learn", join(dir, "sd"), "--data", join(dir, "data.npz"), "--out", out);
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      oneLine(run.stderr),
      /mlp_ft0\.pt: \(pytorch state dict\) needs its PyTorch architecture: --architecture torchvision:<name>.*model-soup\.json/,
    );
    assert.equal(existsSync(out), false);
  });

  it("a --python without torch, and --device cuda on a machine without CUDA, each end in one line with nothing written", async function () {
    const out = join(dir, "never.pt");
    const noTorch = await runCli(
      ...["learn", join(dir, "ts"), "--data", join(dir, "data.npz"), "--out", out],
      ...["--python", join(dir, "no-such-python")],
    );
    assert.notEqual(noTorch.code, 0);
    assert.match(oneLine(noTorch.stderr), /no-such-python \(not found\).*Install PyTorch/);
    if (python.devices.some((d) => d.startsWith("cuda"))) {
      console.log("    (the CUDA refusal is not checked: this machine has a CUDA GPU)");
    } else {
      const cuda = await runCli(
        "learn",
        join(dir, "ts"),
        "--data",
        join(dir, "data.npz"),
        "--out",
        out,
        "--device",
        "cuda",
      );
      assert.notEqual(cuda.code, 0);
      assert.match(oneLine(cuda.stderr), /device cuda: this torch \(.+\) sees no CUDA GPU/);
    }
    assert.equal(existsSync(out), false);
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.startsWith("never")),
      [],
    );
  });

  it("an engine killed mid-learning ends the job in one line naming what happened; nothing is written", async () => {
    const out = join(dir, "killed.pt");
    const run = await longLearn(dir, out);
    process.kill(run.engine, "SIGKILL");
    const code = await run.exited;
    assert.notEqual(code, 0);
    assert.match(oneLine(run.stderr()), /The PyTorch engine \(pid \d+\) was killed \(SIGKILL/);
    assert.equal(existsSync(out), false);
  });

  it("Ctrl-C stops the CLI and its PyTorch engine; nothing is written", async () => {
    const out = join(dir, "interrupted.pt");
    const run = await longLearn(dir, out);
    run.child.kill("SIGINT");
    assert.equal(await run.exited, 130);
    await waitFor("the engine to end", () => (alive(run.engine) ? undefined : true), 10_000);
    assert.equal(existsSync(out), false);
    // The engine's private folder (the data and the ingredients it memory-mapped) went with the worker.
    const left = readdirSync(tmpdir()).filter((f) => f.startsWith(`model-soup-torch-${run.worker}-`));
    assert.deepEqual(left, []);
  });
});
