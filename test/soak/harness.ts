/**
 * Runs the soak: ONE worker, started through the real client (src/client/worker-client.ts, as the CLI and the
 * editor start it), serves the catalogue's jobs again and again in a seeded mixed order, one at a time. After
 * each job the harness samples the worker's resident memory and open file descriptors from /proc and its live
 * TensorFlow.js tensors (`soup/health`). Each distinct job also runs once in a fresh worker; every answer of the
 * long-lived worker must equal that one.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { CancellationTokenSource } from "vscode-jsonrpc";
import { WorkerClient } from "../../src/client/worker-client.js";
import { WorkerRequests, type ProgressParams } from "../../src/protocol/worker.js";
import { recipeMerge, soakJobs, writeBadData, type SoakJob } from "./jobs.js";

export interface Sample {
  job: number;
  name: string;
  kind: string;
  rssBytes: number;
  heapUsedBytes: number;
  numTensors: number;
  fds: number;
  ms: number;
}

export interface SoakRun {
  samples: Sample[];
  /** Jobs whose answer differed from the fresh worker's, with the first difference. */
  mismatches: Array<{ job: number; name: string; difference: string }>;
  /** Jobs that failed when they should have succeeded or the other way round. */
  unexpected: Array<{ job: number; name: string; outcome: string }>;
  jobsPerKind: Record<string, number>;
  distinctJobs: number;
  seconds: number;
  referenceSeconds: number;
  backend: string | null;
}

/** A job's answer with what differs between runs taken out: timings, and this run's own output folder. */
interface Outcome {
  ok: boolean;
  answer: unknown;
  /** Written files, by path inside the output folder: content hash (recipes: their normalised JSON). */
  files: Record<string, string>;
}

const VOLATILE_KEYS = new Set(["seconds", "created", "createdAt", "date", "time", "timestamp"]);

function normalise(value: unknown, out: string): unknown {
  if (typeof value === "string") return value.split(out).join("<out>");
  if (Array.isArray(value)) return value.map((v) => normalise(v, out));
  if (value && typeof value === "object") {
    const result: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) if (!VOLATILE_KEYS.has(key)) result[key] = normalise(v, out);
    return result;
  }
  return value;
}

function writtenFiles(out: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".recipe.json"))
        files[relative(out, path)] = JSON.stringify(normalise(JSON.parse(readFileSync(path, "utf8")), out));
      else files[relative(out, path)] = createHash("sha256").update(readFileSync(path)).digest("hex");
    }
  };
  walk(out);
  return files;
}

/** The first place two JSON values differ, as a path and both values; undefined when equal. */
export function firstDifference(a: unknown, b: unknown, path = "$"): string | undefined {
  if (Object.is(a, b)) return undefined;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object")
    return `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
  const keys = new Set([...Object.keys(a), ...Object.keys(b as object)]);
  for (const key of keys) {
    const d = firstDifference(
      (a as Record<string, unknown>)[key],
      (b as Record<string, unknown>)[key],
      `${path}.${key}`,
    );
    if (d) return d;
  }
  return undefined;
}

/**
 * A worker as the editor and the CLI run it, with the garbage collector exposed so that `soup/health` can measure
 * after a full collection (what is left then is what the jobs kept, not garbage not yet collected).
 */
function startWorker(onProgress: (p: ProgressParams) => void): WorkerClient {
  return new WorkerClient({ onProgress, execArgv: ["--expose-gc"] });
}

/** One worker and the job in progress, whose cancellation its progress notifications may trigger. */
class SoakWorker {
  private onProgress: ((p: ProgressParams) => void) | undefined;
  readonly client = startWorker((p) => this.onProgress?.(p));

  async run(job: SoakJob, out: string): Promise<Outcome> {
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    const cancel = new CancellationTokenSource();
    this.onProgress = job.cancelOn ? (p) => job.cancelOn!(p) && cancel.cancel() : undefined;
    let outcome: Omit<Outcome, "files">;
    try {
      const answer = await this.client.request(job.type, job.params(out) as never, cancel.token);
      outcome = { ok: true, answer: normalise(answer, out) };
    } catch (error) {
      const e = error as Error;
      outcome = { ok: false, answer: normalise({ error: e.name, message: e.message }, out) };
    } finally {
      this.onProgress = undefined;
      cancel.dispose();
    }
    return { ...outcome, files: writtenFiles(out) };
  }

  dispose(): void {
    this.client.dispose();
  }
}

function procStatus(pid: number): { rssBytes: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  return { rssBytes: kb * 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
}

/** A seeded shuffle (mulberry32), so every run of the soak serves the same mixed order. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let s = seed >>> 0;
  const random = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export interface SoakOptions {
  /** Jobs the long-lived worker serves (rounds of the shuffled catalogue, the last one cut short). */
  jobs: number;
  /** Folder for fixtures and outputs (emptied first, removed after). */
  root: string;
  seed?: number;
  onJob?: (sample: Sample, done: number) => void;
}

export async function runSoak(options: SoakOptions): Promise<SoakRun> {
  const { root, seed = 1 } = options;
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, "fixtures"), { recursive: true });
  const badData = join(root, "fixtures", "bad.csv");
  writeBadData(badData);
  const recipeOut = join(root, "fixtures", "recipe-source");
  const setup = new SoakWorker();
  let recipe: string;
  try {
    recipe = ((await setup.client.request(WorkerRequests.merge, recipeMerge(recipeOut))) as { recipe: string }).recipe;
  } finally {
    setup.dispose();
  }
  const catalogue = soakJobs({ recipe, badData });

  const order: SoakJob[] = [];
  for (let round = 0; order.length < options.jobs; round++) order.push(...shuffled(catalogue, seed + round));
  order.length = options.jobs;

  const soak = new SoakWorker();
  const pid = soak.client.pid!;
  const samples: Sample[] = [];
  const answers: Array<{ job: SoakJob; outcome: Outcome }> = [];
  const started = performance.now();
  let backend: string | null = null;
  try {
    for (const [index, job] of order.entries()) {
      const t0 = performance.now();
      const outcome = await soak.run(job, join(root, "soak"));
      const ms = performance.now() - t0;
      const health = await soak.client.request(WorkerRequests.health, { collectGarbage: true });
      if (!health.collected) throw new Error("the soak's worker did not run a garbage collection (--expose-gc)");
      backend = health.backend;
      const sample: Sample = {
        job: index + 1,
        name: job.name,
        kind: job.kind,
        ...procStatus(pid),
        heapUsedBytes: health.heapUsedBytes,
        numTensors: health.numTensors,
        ms,
      };
      samples.push(sample);
      answers.push({ job, outcome });
      options.onJob?.(sample, index + 1);
    }
  } finally {
    soak.dispose();
  }
  const seconds = (performance.now() - started) / 1000;

  // The same jobs, each in a worker that has run nothing before.
  const referenceStarted = performance.now();
  const reference = new Map<string, Outcome>();
  for (const job of catalogue) {
    if (!order.includes(job)) continue;
    const fresh = new SoakWorker();
    try {
      reference.set(job.name, await fresh.run(job, join(root, "fresh")));
    } finally {
      fresh.dispose();
    }
  }
  const referenceSeconds = (performance.now() - referenceStarted) / 1000;

  const mismatches: SoakRun["mismatches"] = [];
  const unexpected: SoakRun["unexpected"] = [];
  for (const [index, { job, outcome }] of answers.entries()) {
    if (outcome.ok === Boolean(job.fails))
      unexpected.push({ job: index + 1, name: job.name, outcome: JSON.stringify(outcome.answer).slice(0, 300) });
    else if (!outcome.ok && Object.keys(outcome.files).length)
      unexpected.push({ job: index + 1, name: job.name, outcome: `wrote ${Object.keys(outcome.files).join(", ")}` });
    const expected = reference.get(job.name)!;
    const difference = firstDifference(outcome, expected);
    if (difference) mismatches.push({ job: index + 1, name: job.name, difference: difference.slice(0, 400) });
  }
  const jobsPerKind: Record<string, number> = {};
  for (const job of order) jobsPerKind[job.kind] = (jobsPerKind[job.kind] ?? 0) + 1;
  rmSync(root, { recursive: true, force: true });
  return {
    samples,
    mismatches,
    unexpected,
    jobsPerKind,
    distinctJobs: reference.size,
    seconds,
    referenceSeconds,
    backend,
  };
}
