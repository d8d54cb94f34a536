/**
 * Runs one fuzz case through the real CLI as a subprocess and checks what must hold for any input: exit 0, 1 or
 * 2; no stack trace or "internal error"; done within a time limit; peak RSS bounded; inputs byte-identical;
 * nothing written outside the output folder (nor left in the temp folder); no output after a failure; and, for a
 * case that says how it must fail, one line on stderr of that shape.
 */
import { spawn, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { noPythonRun } from "./without-python.js";

/** The CLI under test; MODEL_SOUP_FUZZ_CLI points the harness at another build (e.g. an older one, for comparison). */
export const CLI = process.env.MODEL_SOUP_FUZZ_CLI ?? resolve(import.meta.dirname, "..", "..", "dist", "cli.cjs");

/**
 * What a case puts in its folder: bytes, a symlink, a FIFO, or an executable script (a stand-in Python). Paths are
 * relative to the case folder.
 */
export type CaseFile = Uint8Array | { symlink: string } | { fifo: true } | { executable: string };

/** The running CLI, as a case's `during` sees it. */
export interface RunningCase {
  /** The process group's leader (/usr/bin/time, whose child is the CLI). */
  pid: number;
  stderr: () => string;
}

export interface FuzzCase {
  id: string;
  /** The format or kind of input, for the figures. */
  kind: string;
  /** What was done to the seed. */
  what: string;
  /** Files under the case folder: `in/...` are the inputs (the CLI runs there), `outside/...` files beside them. */
  files: Record<string, CaseFile>;
  /** CLI arguments; "@out" stands for the output folder. */
  argv: string[];
  /** Environment variables set for this case only. */
  env?: Record<string, string>;
  /** Run where no Python can be found at all (without-python.ts); the case is only made where that is possible. */
  withoutPython?: true;
  /** Something done to the run while it runs (e.g. killing its PyTorch engine); a rejection is a problem. */
  during?: (run: RunningCase) => Promise<void>;
  /** How the case must fail: its exit code and the one line on stderr (the one starting "model-soup"). */
  expect?: { exit: number; line: RegExp };
}

export interface Limits {
  timeoutMs: number;
  rssBytes: number;
}

export const DEFAULT_LIMITS: Limits = { timeoutMs: 60_000, rssBytes: 512 * 1024 * 1024 };

export interface CaseResult {
  id: string;
  kind: string;
  what: string;
  command: string;
  exitCode: number | null;
  signal: string | null;
  hung: boolean;
  maxRssBytes: number | undefined;
  internalError: boolean;
  /** Which rule was broken, empty when none. */
  problems: string[];
  stderr: string;
  ms: number;
}

function snapshot(root: string, skip: Set<string>): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      if (skip.has(r)) continue;
      const info = lstatSync(path);
      if (info.isSymbolicLink()) out.set(r, `link`);
      else if (info.isDirectory()) {
        out.set(r, "dir");
        walk(path, r);
      } else if (info.isFile()) out.set(r, createHash("sha256").update(readFileSync(path)).digest("hex"));
      else out.set(r, "special");
    }
  };
  walk(root, "");
  return out;
}

function materialise(dir: string, files: Record<string, CaseFile>): void {
  for (const [rel, file] of Object.entries(files)) {
    const path = join(dir, rel);
    mkdirSync(join(path, ".."), { recursive: true });
    if (file instanceof Uint8Array) writeFileSync(path, file);
    else if ("symlink" in file) symlinkSync(file.symlink, path);
    else if ("executable" in file) writeFileSync(path, file.executable, { mode: 0o755 });
    else execFileSync("mkfifo", [path]);
  }
}

const STACK_LINE = /^\s+at .+(\(.*:\d+:\d+\)|:\d+:\d+)$/m;

const parentOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);

/** The pids of the processes below `root` whose command line contains `needle` (Linux: read from /proc). */
export function descendantsRunning(root: number, needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(needle)) continue;
      for (let p = parentOf(pid); p > 1; p = parentOf(p))
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

/** The lines of stderr that are the CLI's own (its failure line starts with "model-soup"). */
const ownLines = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("model-soup"));

export async function runCase(root: string, c: FuzzCase, limits: Limits = DEFAULT_LIMITS): Promise<CaseResult> {
  const dir = join(root, c.id);
  rmSync(dir, { recursive: true, force: true });
  for (const sub of ["in", "out", "tmp", "outside"]) mkdirSync(join(dir, sub), { recursive: true });
  materialise(dir, c.files);
  const rssFile = join(root, `${c.id}.rss`);
  const before = snapshot(dir, new Set(["out", "tmp"]));
  const argv = c.argv.map((a) => a.replace("@out", join(dir, "out")));
  const started = Date.now();
  const noPython = c.withoutPython ? noPythonRun(root) : undefined;
  if (c.withoutPython && !noPython) throw new Error(`${c.id}: a Python-free namespace cannot be made here`);
  const [command, commandArgs] = noPython ? noPython.wrap([CLI, ...argv]) : [process.execPath, [CLI, ...argv]];
  const child = spawn("/usr/bin/time", ["-f", "%M", "-o", rssFile, command, ...commandArgs], {
    cwd: join(dir, "in"),
    env: {
      ...process.env,
      TMPDIR: join(dir, "tmp"),
      NO_COLOR: "1",
      ...(noPython ? { PATH: noPython.path } : {}),
      ...c.env,
    },
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d: string) => {
    if (stderr.length < 64 * 1024) stderr += d;
  });
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  }, limits.timeoutMs);
  const closed = new Promise<[number | null, string | null]>((done) =>
    child.on("close", (code, sig) => done([code, sig])),
  );
  const acted = c.during?.({ pid: child.pid!, stderr: () => stderr }).then(
    () => undefined,
    (error: unknown) => `the action during the run failed: ${(error as Error)?.message ?? String(error)}`,
  );
  const [exitCode, signal] = await closed;
  clearTimeout(timer);
  const actionProblem = await acted;
  const ms = Date.now() - started;
  // /usr/bin/time reports the largest RSS of the CLI or of any child it waited for (the worker), in KB.
  let maxRssBytes: number | undefined;
  if (existsSync(rssFile)) {
    const kb = Number(readFileSync(rssFile, "utf8").trim().split("\n").pop());
    if (Number.isFinite(kb)) maxRssBytes = kb * 1024;
    rmSync(rssFile, { force: true });
  }
  const problems: string[] = [];
  const internalError = /internal error/i.test(stderr) || STACK_LINE.test(stderr);
  if (hung) problems.push(`hang: killed after ${limits.timeoutMs} ms`);
  else if (exitCode === null || ![0, 1, 2].includes(exitCode)) problems.push(`exit code ${exitCode ?? signal}`);
  if (internalError) problems.push("internal error or stack trace on stderr");
  if (actionProblem) problems.push(actionProblem);
  if (c.expect && !hung) {
    const lines = ownLines(stderr);
    if (exitCode !== c.expect.exit) problems.push(`message: exit ${exitCode ?? signal}, expected ${c.expect.exit}`);
    if (lines.length !== 1) problems.push(`message: ${lines.length} lines from model-soup on stderr, expected one`);
    else if (!c.expect.line.test(lines[0]!)) problems.push(`message: "${lines[0]}" does not match ${c.expect.line}`);
  }
  if (maxRssBytes !== undefined && maxRssBytes > limits.rssBytes)
    problems.push(`memory: peak RSS ${(maxRssBytes / 2 ** 20).toFixed(0)} MiB`);
  const after = snapshot(dir, new Set(["out", "tmp"]));
  for (const [path, hash] of before) {
    if (after.get(path) !== hash) problems.push(`input modified or removed: ${path}`);
  }
  for (const path of after.keys()) if (!before.has(path)) problems.push(`written outside the output folder: ${path}`);
  const leftInTmp = readdirSync(join(dir, "tmp"));
  if (leftInTmp.length) problems.push(`left in the temp folder: ${leftInTmp.join(", ")}`);
  if (!hung && exitCode !== 0) {
    const written = readdirSync(join(dir, "out"));
    if (written.length) problems.push(`output written by a failed run: ${written.join(", ")}`);
  }
  if (problems.length === 0) rmSync(dir, { recursive: true, force: true });
  return {
    id: c.id,
    kind: c.kind,
    what: c.what,
    command: argv.join(" "),
    exitCode,
    signal,
    hung,
    maxRssBytes,
    internalError,
    problems,
    stderr: stderr.slice(0, 2000),
    ms,
  };
}

/** Runs cases `concurrency` at a time, in order of their index; `onResult` sees each as it ends. */
export async function runCases(
  root: string,
  cases: FuzzCase[],
  concurrency: number,
  limits: Limits = DEFAULT_LIMITS,
  onResult: (r: CaseResult) => void = () => undefined,
): Promise<CaseResult[]> {
  const results: CaseResult[] = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      results[i] = await runCase(root, cases[i]!, limits);
      onResult(results[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  return results;
}
