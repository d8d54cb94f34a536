// Benchmark (issue 11): the event-loop delay of a process that drives a learned merge the way the extension host
// does — the real worker process (dist/worker.cjs) through src/client/worker-client.ts, every progress notification
// turned into the panel's message (src/host/progress-text.ts) and serialised as webview.postMessage does — with
// the stalls it sees attributed to what the process was doing. VS Code itself is not loaded (that is
// bench/editor-responsiveness.ts, which needs code-server); this isolates what Model Soup's own host code costs.
// Writes the section between the host-event-loop markers of BENCHMARKS.md.
// Run: npm run build && node --import tsx bench/host-event-loop/run.ts [--runs N] [--steps N] [--no-write]
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { PROGRESS_INTERVAL_MS, ProgressBatches } from "../../src/host/progress-batches.js";
import { describeProgress } from "../../src/host/progress-text.js";
import { WorkerRequests, type ProgressParams } from "../../src/protocol/worker.js";
import { WorkerClient } from "../../src/client/worker-client.js";
import { writeBenchmarkSection } from "../benchmarks-md.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

interface Stall {
  ms: number;
  /** CPU time this process used during the turn: near 0 when the turn was long only because the cores were busy. */
  cpuMs: number;
  during: string;
}

interface RunFigures {
  seconds: number;
  p50: number;
  p99: number;
  max: number;
  progressMessages: number;
  largestMessageBytes: number;
  stalls: Stall[];
}

/** One learned merge of the digits sample, as the panel starts it, with the loop's delay measured throughout. */
async function oneRun(models: string[], data: string, steps: number): Promise<RunFigures> {
  let phase = "starting the worker";
  const stalls: Stall[] = [];
  // A 1 ms probe that names what the process was doing when a turn of the loop took long.
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  const probe = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    if (now - last > 20) stalls.push({ ms: now - last, cpuMs: (cpu.user + cpu.system) / 1000, during: phase });
    last = now;
    lastCpu = process.cpuUsage();
  }, 1);
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  let progressMessages = 0;
  let largestMessageBytes = 0;
  const start = performance.now();
  // What the panel posts to its webview: the notifications in batches (host/progress-batches.ts); postMessage
  // serialises each batch.
  const batches = new ProgressBatches((items) => {
    const message = JSON.stringify({ type: "progress", items, text: describeProgress(items.at(-1)!) });
    progressMessages++;
    largestMessageBytes = Math.max(largestMessageBytes, message.length);
  });
  const client = new WorkerClient({
    onProgress: (p: ProgressParams) => {
      phase = `progress notification (${p.phase}, step ${p.step ?? "-"})`;
      batches.push(p);
    },
  });
  try {
    phase = "waiting for the worker";
    const report = await client.request(WorkerRequests.learn, {
      models,
      data: { path: data },
      maxSteps: steps,
      jobId: "bench",
    });
    phase = "the report";
    batches.flush();
    const message = JSON.stringify({ type: "report", report });
    largestMessageBytes = Math.max(largestMessageBytes, message.length);
  } finally {
    phase = "stopping the worker";
    batches.dispose();
    client.dispose();
  }
  const seconds = (performance.now() - start) / 1000;
  await new Promise((r) => setTimeout(r, 50));
  histogram.disable();
  clearInterval(probe);
  return {
    seconds,
    p50: histogram.percentile(50) / 1e6,
    p99: histogram.percentile(99) / 1e6,
    max: histogram.max / 1e6,
    progressMessages,
    largestMessageBytes,
    stalls,
  };
}

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, "dist", "worker.cjs"))) throw new Error("build first: npm run build");
  const runs = Number(option("runs", "3"));
  const steps = Number(option("steps", "100"));
  const folder = join(ROOT, "samples", "digits", "models");
  const models = (await readdir(folder))
    .filter((n) => n.startsWith("ingredient-"))
    .sort()
    .map((n) => join(folder, n));
  const data = join(ROOT, "samples", "digits", "soup.csv.gz");
  const loadStart = loadavg()[0]!;
  const figures: RunFigures[] = [];
  for (let r = 0; r < runs; r++) {
    figures.push(await oneRun(models, data, steps));
    const f = figures.at(-1)!;
    console.log(
      `run ${r + 1}: ${f.seconds.toFixed(1)} s, delay p50 ${f.p50.toFixed(1)} p99 ${f.p99.toFixed(1)} max ${f.max.toFixed(1)} ms; stalls > 20 ms: ${f.stalls.map((s) => `${s.ms.toFixed(0)} ms, cpu ${s.cpuMs.toFixed(0)} ms (${s.during})`).join("; ") || "none"}`,
    );
  }
  const loadEnd = loadavg()[0]!;
  const maxes = figures.map((f) => f.max);
  const worst = figures
    .flatMap((f) => f.stalls)
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 5);
  const busiest = figures
    .flatMap((f) => f.stalls)
    .sort((a, b) => b.cpuMs - a.cpuMs)
    .slice(0, 5);
  const section = [
    "## Event-loop delay of the host side during a learned merge (issue 11)",
    "",
    `Generated by \`node --import tsx bench/host-event-loop/run.ts ${process.argv.slice(2).join(" ")}\` on ${new Date().toISOString().slice(0, 10)}. ` +
      `A learned merge of the digits sample (${models.length} models, \`samples/digits/soup.csv.gz\`, ${steps} steps, the panel's defaults otherwise) driven as the extension host drives it: ` +
      `a fresh worker process started through \`src/client/worker-client.ts\` (as the first job of a session does), the progress notifications gathered into the panel's messages ` +
      `as the panel does (at most one every \`PROGRESS_INTERVAL_MS\` = ${PROGRESS_INTERVAL_MS} ms, \`src/host/progress-batches.ts\`) and serialised as \`webview.postMessage\` does, the report likewise. perf_hooks.monitorEventLoopDelay at 1 ms resolution over the whole job, worker start included; ` +
      `a 1 ms probe names what the process was doing during each turn longer than 20 ms. VS Code itself is not loaded (bench/editor-responsiveness.ts measures inside code-server). ` +
      `${cpus().length} cores, load average ${loadStart.toFixed(1)} at the start and ${loadEnd.toFixed(1)} at the end (other work shares the cores; a busy machine lengthens every stall).`,
    "",
    "| run | job time | delay p50 | p99 | max | progress messages | largest message |",
    "|---|---|---|---|---|---|---|",
    ...figures.map(
      (f, i) =>
        `| ${i + 1} | ${f.seconds.toFixed(1)} s | ${f.p50.toFixed(1)} ms | ${f.p99.toFixed(1)} ms | ${f.max.toFixed(1)} ms | ${f.progressMessages} | ${(f.largestMessageBytes / 1024).toFixed(1)} KiB |`,
    ),
    "",
    `- Median of the runs' maximum delay: ${median(maxes).toFixed(1)} ms (target < 50 ms: ${median(maxes) < 50 ? "met" : "NOT met"}; largest of all runs ${Math.max(...maxes).toFixed(1)} ms).`,
    `- Longest turns of the loop, the CPU this process used in them, and what was running: ${worst.map((s) => `${s.ms.toFixed(0)} ms / cpu ${s.cpuMs.toFixed(0)} ms (${s.during})`).join("; ") || "none over 20 ms"}.`,
    `- Turns with the most CPU of this process (work that blocks the loop, whatever the load): ${busiest.map((s) => `cpu ${s.cpuMs.toFixed(0)} ms in a ${s.ms.toFixed(0)} ms turn (${s.during})`).join("; ") || "none over 20 ms"}.`,
  ].join("\n");
  console.log(section);
  if (!process.argv.includes("--no-write")) await writeBenchmarkSection("host-event-loop", section);
}

await main();
