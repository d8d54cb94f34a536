/**
 * The CLI as a process being stopped: SIGINT / SIGTERM during a large write (a merge in the CLI's process, a recipe
 * replay on a worker) exit 130 / 143 with one line and leave neither the output nor a temporary file; after kill -9 of the CLI and its worker, the next run writing to
 * that folder removes the stale temporary; a file-size limit (EFBIG) fails in one line naming the file, leaving
 * nothing.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliCommand, runCli } from "./run-cli.js";
import { seededValues, writeSafetensors } from "../support/safetensors-writer.js";

const TEMP = /^\.model-soup-tmp-\d+-[0-9a-f]{12}-/;
/** Large enough that writing the merge takes a while here: 3 tensors of 12M float32 values (144 MB) per model. */
const ELEMENTS = 12 * 1024 * 1024;

function start(
  args: string[],
  prefix: string[] = [],
): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const command = [...prefix, process.execPath, ...cliCommand(), ...args];
  const child = spawn(command[0]!, command.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  child.stdout!.resume();
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, done };
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, ms = 60000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function temps(folder: string): Promise<string[]> {
  return (await readdir(folder).catch(() => [] as string[])).filter((n) => TEMP.test(n));
}

function childrenOf(pid: number): number[] {
  try {
    return execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
      .split("\n")
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

describe("model-soup interrupted, killed, or out of file size", function () {
  this.timeout(240000);
  let dir: string;
  let big: string[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-interrupt-"));
    big = [];
    for (const seed of [1, 2]) {
      const path = join(dir, `big-${seed}.safetensors`);
      await writeSafetensors(
        path,
        Object.fromEntries(
          [0, 1, 2].map((k) => [
            `layer${k}.weight`,
            { shape: [ELEMENTS], data: seededValues(seed * 10 + k, ELEMENTS) },
          ]),
        ),
      );
      big.push(path);
    }
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  /** A recipe of a merge of the big models, for `apply`, which replays it on a worker process. */
  async function bigRecipe(): Promise<string> {
    const made = join(dir, "made");
    await mkdir(made, { recursive: true });
    const result = await runCli("merge", ...big, "--out", join(made, "soup.safetensors"));
    assert.equal(result.code, 0, result.stderr);
    return join(made, "soup.recipe.json");
  }

  // `merge` runs in the CLI's own process (src/cli/in-process.ts); `apply` runs on a worker process.
  for (const [signal, code, command] of [
    ["SIGINT", 130, "merge"],
    ["SIGTERM", 143, "merge"],
    ["SIGINT", 130, "apply"],
    ["SIGTERM", 143, "apply"],
  ] as const) {
    it(`${signal} during the write of ${command}: exit ${code}, one line, no output and no temporary file left, no worker left`, async () => {
      const out = join(dir, `out-${signal}-${command}`);
      await mkdir(out);
      const target = join(out, "soup.safetensors");
      const run = start(
        command === "merge" ? ["merge", ...big, "--out", target] : ["apply", await bigRecipe(), "--out", target],
      );
      await waitFor(async () => ((await temps(out)).length > 0 ? true : undefined), "the temporary output file");
      const workers = childrenOf(run.child.pid!);
      run.child.kill(signal);
      const result = await run.done;
      assert.equal(result.code, code, result.stderr);
      assert.equal(result.stderr.trim(), `model-soup: interrupted (${signal}); stopped, nothing was written`);
      assert.deepEqual(await readdir(out), [], "neither the output nor a temporary is left");
      if (command === "merge") assert.deepEqual(workers, [], "a fixed-weight merge starts no worker process");
      else assert.ok(workers.length > 0, "the worker was running");
      for (const pid of workers) assert.throws(() => process.kill(pid, 0), "the worker has ended");
    });
  }

  it("kill -9 of the CLI and its worker leaves a temporary; the next run writing to that folder removes it", async () => {
    const out = join(dir, "out-kill");
    await mkdir(out);
    const run = start(["merge", ...big, "--out", join(out, "soup.safetensors")]);
    await waitFor(async () => ((await temps(out)).length > 0 ? true : undefined), "the temporary output file");
    for (const pid of childrenOf(run.child.pid!)) process.kill(pid, "SIGKILL");
    run.child.kill("SIGKILL");
    await run.done;
    const stale = await temps(out);
    assert.equal(stale.length, 1, "a killed run cannot clean up after itself");
    const next = await runCli("merge", "samples/digits/models", "--out", join(out, "small.json"));
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(await temps(out), [], "the stale temporary was removed");
    assert.ok(!(await readdir(out)).includes("soup.safetensors"));
  });

  it("a file-size limit (EFBIG) fails in one line naming the output file and leaves nothing", async () => {
    const out = join(dir, "out-efbig");
    await mkdir(out);
    const target = join(out, "soup.safetensors");
    // 1 MiB: enough for Node itself, far less than the 144 MB output.
    const run = start(["merge", ...big, "--out", target], ["prlimit", "--fsize=1048576"]);
    const result = await run.done;
    assert.equal(result.code, 2, result.stderr);
    assert.equal(
      result.stderr.trim(),
      `model-soup merge: ${target}: cannot be written (EFBIG: the file would be larger than the system allows); nothing was written`,
    );
    assert.deepEqual(await readdir(out), []);
  });
});
