// Benchmark (issue 5): Model Soup's streamed linear merge against the textbook NumPy recipe, on four generated
// ~500 MB float32 safetensors checkpoints. Reports input-read throughput, peak RSS and the machine's
// memory-copy bandwidth, and writes the table into BENCHMARKS.md between the streaming-merge markers.
// Run: node --import tsx bench/streaming-merge.ts   (needs Debian's python3-numpy: apt-get install python3-numpy)
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, open, readFile, rm, stat, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeHeader, layOut } from "../src/core/formats/safetensors/header-json.js";
import type { HeaderEntry } from "../src/core/formats/safetensors/header.js";
import { SafetensorsReader } from "../src/core/formats/safetensors/index.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const MODELS = 4;
const RUNS = 3;
const WEIGHTS = [0.4, 0.3, 0.2, 0.1];
const HIDDEN = 1024;
const LAYERS = 22;
const MARK_START = "<!-- streaming-merge -->";
const MARK_END = "<!-- /streaming-merge -->";

/** A Llama-like layout of ~500 MB in float32: a 32000 x 1024 embedding and 22 MLP blocks. */
function checkpointLayout(): HeaderEntry[] {
  const shapes: Array<[string, number[]]> = [["model.embed_tokens.weight", [32000, HIDDEN]]];
  for (let i = 0; i < LAYERS; i++) {
    shapes.push([`model.layers.${i}.input_layernorm.weight`, [HIDDEN]]);
    shapes.push([`model.layers.${i}.mlp.up_proj.weight`, [4 * HIDDEN, HIDDEN]]);
  }
  return layOut(shapes.map(([name, shape]) => ({ name, shape, dtype: "float32", begin: 0, end: shape.reduce((a, b) => a * b) * 4 })));
}

/** Fills with xorshift32 noise in [-0.02, 0.02): fixed seed per checkpoint, so every run merges the same data. */
function fillNoise(values: Float32Array, state: { x: number }): void {
  let x = state.x;
  for (let i = 0; i < values.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    values[i] = ((x >>> 0) / 4294967296 - 0.5) * 0.04;
  }
  state.x = x;
}

async function writeCheckpoint(path: string, seed: number): Promise<number> {
  const entries = checkpointLayout();
  const header = encodeHeader(entries, { format: "pt" });
  const handle = await open(path, "w");
  const state = { x: seed };
  try {
    await handle.write(header, 0, header.length, 0);
    for (const e of entries) {
      const values = new Float32Array((e.end - e.begin) / 4);
      fillNoise(values, state);
      await handle.write(new Uint8Array(values.buffer), 0, values.byteLength, header.length + e.begin);
    }
  } finally {
    await handle.close();
  }
  return (await stat(path)).size;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Bytes copied per second by TypedArray.prototype.set (a memcpy) between two 512 MiB buffers, best of 5. */
function memoryCopyBandwidth(): number {
  const size = 512 * 1024 * 1024;
  const source = new Uint8Array(size).fill(1);
  const target = new Uint8Array(size).fill(2);
  const rates: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    target.set(source);
    rates.push(size / ((performance.now() - start) / 1000));
  }
  return Math.max(...rates);
}

/** Bytes per second read from a page-cached file into a reused 64 MiB buffer (what any reader must pay), best of 3. */
async function pageCacheReadBandwidth(path: string): Promise<number> {
  const buffer = new Uint8Array(64 * 1024 * 1024);
  const rates: number[] = [];
  for (let i = 0; i < 3; i++) {
    const handle = await open(path, "r");
    const start = performance.now();
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    rates.push(total / ((performance.now() - start) / 1000));
    await handle.close();
  }
  return Math.max(...rates);
}

function findNumpyPython(): { python: string; numpy: string } {
  for (const python of ["/usr/bin/python3", "python3"]) {
    try {
      const numpy = execFileSync(python, ["-c", "import numpy; print(numpy.__version__)"], { encoding: "utf8" }).trim();
      return { python, numpy };
    } catch {
      // try the next interpreter
    }
  }
  throw new Error("NumPy is missing: install Debian's python3-numpy (apt-get install -y python3-numpy)");
}

interface RunResult {
  seconds: number;
  cpuSeconds: number;
  maxRssBytes: number;
}

function runChild(command: string, args: string[], env: NodeJS.ProcessEnv): RunResult {
  const out = execFileSync(command, args, { encoding: "utf8", env, cwd: ROOT, maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split("\n").at(-1)!) as RunResult;
}

async function maxAbsDifference(a: string, b: string): Promise<number> {
  const ra = await SafetensorsReader.open(a);
  const rb = await SafetensorsReader.open(b);
  try {
    let worst = 0;
    for (const { name } of ra.manifest.tensors) {
      const x = (await ra.readTensor(name)).data as Float32Array;
      const y = (await rb.readTensor(name)).data as Float32Array;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
    }
    return worst;
  } finally {
    await ra.close();
    await rb.close();
  }
}

const gb = (bytes: number) => (bytes / 1e9).toFixed(2);
const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;

async function updateBenchmarks(section: string): Promise<void> {
  const path = join(ROOT, "BENCHMARKS.md");
  const text = existsSync(path) ? await readFile(path, "utf8") : "# Benchmarks\n";
  const block = `${MARK_START}\n${section}\n${MARK_END}`;
  const start = text.indexOf(MARK_START);
  const end = text.indexOf(MARK_END);
  const next = start >= 0 && end > start ? text.slice(0, start) + block + text.slice(end + MARK_END.length) : `${text.trimEnd()}\n\n${block}\n`;
  await writeFile(path, next);
}

async function main(): Promise<void> {
  const { python, numpy } = findNumpyPython();
  const dir = await mkdtemp(join(tmpdir(), "soup-bench-stream-"));
  try {
    console.log(`generating ${MODELS} checkpoints in ${dir} ...`);
    const inputs: string[] = [];
    let inputBytes = 0;
    for (let m = 0; m < MODELS; m++) {
      const path = join(dir, `ckpt-${m}.safetensors`);
      inputBytes += await writeCheckpoint(path, 0x9e3779b9 ^ (m + 1));
      inputs.push(path);
    }
    execFileSync("sync"); // let the generated files' write-back finish before timing anything
    const bandwidth = memoryCopyBandwidth();
    const readBandwidth = await pageCacheReadBandwidth(inputs[0]!);
    console.log(`memory copy: ${gb(bandwidth)} GB/s, page-cache read: ${gb(readBandwidth)} GB/s`);

    const weights = WEIGHTS.join(",");
    const soupOut = join(dir, "soup.safetensors");
    const numpyOut = join(dir, "numpy.safetensors");
    // OpenBLAS is pinned for tests on this machine; a benchmark of NumPy runs it unpinned.
    const numpyEnv = { ...process.env };
    delete numpyEnv.OPENBLAS_CORETYPE;
    delete numpyEnv.OPENBLAS_L2_SIZE;
    const load = loadavg()[0]!;
    const soup: RunResult[] = [];
    const np: RunResult[] = [];
    for (let run = 0; run < RUNS; run++) {
      await rm(soupOut, { force: true });
      await rm(numpyOut, { force: true });
      soup.push(runChild(process.execPath, ["--import", "tsx", "bench/streaming-merge-soup.ts", soupOut, weights, ...inputs], process.env));
      np.push(runChild(python, ["bench/streaming-merge-numpy.py", numpyOut, weights, ...inputs], numpyEnv));
      console.log(`run ${run + 1}: soup ${soup.at(-1)!.seconds.toFixed(2)} s, numpy ${np.at(-1)!.seconds.toFixed(2)} s`);
    }
    const difference = await maxAbsDifference(soupOut, numpyOut);

    const row = (name: string, results: RunResult[]) => {
      const seconds = median(results.map((r) => r.seconds));
      const rss = median(results.map((r) => r.maxRssBytes));
      const cpuSeconds = median(results.map((r) => r.cpuSeconds));
      return { name, seconds, cpuSeconds, rss, throughput: inputBytes / seconds };
    };
    const s = row("Model Soup `streamLinearMerge` (Node)", soup);
    const n = row(`NumPy ${numpy} textbook (load all, stack, tensordot, save)`, np);
    const met = (ok: boolean) => (ok ? "met" : "NOT met");
    const section = [
      "## Streaming linear merge of safetensors (issue 5)",
      "",
      `Four generated float32 checkpoints of ${mib(inputBytes / MODELS)} each (largest tensor 125 MiB), weights ${WEIGHTS.join(", ")}, ` +
        `files in the page cache. Medians of ${RUNS} alternating runs, timed inside each process (interpreter start excluded). ` +
        `Machine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, load average ${load.toFixed(1)} when the runs started ` +
        `(other work shares the cores: wall times include waiting, CPU times do not), Node ${process.version}, ${python} with NumPy ${numpy}. ` +
        `Run \`node --import tsx bench/streaming-merge.ts\`.`,
      "",
      "| implementation | wall time | input read (wall) | CPU time | input read per CPU second | peak RSS |",
      "|---|---|---|---|---|---|",
      ...[s, n].map(
        (r) =>
          `| ${r.name} | ${r.seconds.toFixed(2)} s | ${gb(r.throughput)} GB/s | ${r.cpuSeconds.toFixed(2)} s | ` +
          `${gb(inputBytes / r.cpuSeconds)} GB/s | ${mib(r.rss)} |`,
      ),
      "",
      `- Memory-copy bandwidth (TypedArray.set between 512 MiB buffers, best of 5): ${gb(bandwidth)} GB/s; ` +
        `reading a page-cached checkpoint into a reused buffer (best of 3): ${gb(readBandwidth)} GB/s.`,
      `- Throughput Model Soup / NumPy: ${(s.throughput / n.throughput).toFixed(2)}x (target >= 1: ${met(s.throughput >= n.throughput)}).`,
      `- Peak RSS Model Soup / NumPy: ${(s.rss / n.rss).toFixed(2)} (target <= 1/3: ${met(s.rss * 3 <= n.rss)}).`,
      `- Memory-copy bandwidth / Model Soup throughput: ${(bandwidth / s.throughput).toFixed(2)}x (target <= 2: ${met(bandwidth <= 2 * s.throughput)}).`,
      `- Largest |Model Soup - NumPy| over all merged values: ${difference.toExponential(2)} (NumPy sums in float32, Model Soup in float64 rounded once).`,
    ].join("\n");
    await updateBenchmarks(section);
    console.log(section);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
