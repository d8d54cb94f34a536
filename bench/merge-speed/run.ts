// Benchmark (issue 11): whole-process `model-soup merge --weights` of four ~250 MB safetensors against the honest
// NumPy reference (memory-map each file, sum one tensor at a time, write), float32, bfloat16 and float16, in one script,
// with the machine's memory-copy bandwidth measured here too. Writes the section between the merge-speed markers
// of BENCHMARKS.md. Run: npm run build && node --import tsx bench/merge-speed/run.ts
// Needs Debian's python3-numpy at /usr/bin/python3 and GNU time at /usr/bin/time.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, open, rm, stat } from "node:fs/promises";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { floatToFloat16Bits } from "../../src/core/convert.js";
import { encodeHeader, layOut } from "../../src/core/formats/safetensors/header-json.js";
import type { HeaderEntry } from "../../src/core/formats/safetensors/header.js";
import { SafetensorsReader } from "../../src/core/formats/safetensors/index.js";
import { writeBenchmarkSection } from "../benchmarks-md.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const PYTHON = "/usr/bin/python3";
const MODELS = 4;
const RUNS = Number(process.env.RUNS ?? 5);
const WEIGHTS = [0.4, 0.3, 0.2, 0.1];
const HIDDEN = 1024;
const LAYERS = 11;

type Dtype = "float32" | "bfloat16" | "float16";

const SCRIPTS: Record<Dtype, string> = {
  float32: "numpy_mmap_merge.py",
  bfloat16: "numpy_mmap_merge_bf16.py",
  float16: "numpy_mmap_merge_f16.py",
};

const REFERENCE_NAMES: Record<Dtype, string> = {
  float32: "NumPy memory-map loop",
  bfloat16: "NumPy memory-map loop through float32",
  float16: "NumPy memory-map loop through float32",
};

/** A Llama-like layout of ~250 MB in float32: a 16000 x 1024 embedding and 11 blocks (norm + 4096 x 1024). */
function checkpointLayout(dtype: Dtype): HeaderEntry[] {
  const width = dtype === "float32" ? 4 : 2;
  const shapes: Array<[string, number[]]> = [["model.embed_tokens.weight", [16000, HIDDEN]]];
  for (let i = 0; i < LAYERS; i++) {
    shapes.push([`model.layers.${i}.input_layernorm.weight`, [HIDDEN]]);
    shapes.push([`model.layers.${i}.mlp.up_proj.weight`, [4 * HIDDEN, HIDDEN]]);
  }
  return layOut(
    shapes.map(([name, shape]) => ({ name, shape, dtype, begin: 0, end: shape.reduce((a, b) => a * b) * width })),
  );
}

/** xorshift32 noise in [-0.02, 0.02), fixed seed per checkpoint. */
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

export async function writeCheckpoint(path: string, seed: number, dtype: Dtype): Promise<number> {
  const entries = checkpointLayout(dtype);
  const header = encodeHeader(entries, { format: "pt" });
  const handle = await open(path, "w");
  const state = { x: seed };
  try {
    await handle.write(header, 0, header.length, 0);
    for (const e of entries) {
      const count = (e.end - e.begin) / (dtype === "float32" ? 4 : 2);
      const values = new Float32Array(count);
      fillNoise(values, state);
      const bytes =
        dtype === "float32"
          ? new Uint8Array(values.buffer)
          : dtype === "bfloat16"
            ? new Uint8Array(new Uint16Array(new Uint32Array(values.buffer).map((u) => u >>> 16)).buffer)
            : new Uint8Array(Uint16Array.from(values, (v) => floatToFloat16Bits(v)).buffer);
      await handle.write(bytes, 0, bytes.length, header.length + e.begin);
    }
  } finally {
    await handle.close();
  }
  return (await stat(path)).size;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Bytes per second copied by TypedArray.prototype.set (memcpy) between two 512 MiB buffers, median of 5. */
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
  return median(rates);
}

/** Bytes per second SHA-256 (node:crypto) hashes on one thread: a 256 MiB buffer, median of 5. */
function sha256Bandwidth(): number {
  const data = new Uint8Array(256 * 1024 * 1024).fill(7);
  const rates: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    createHash("sha256").update(data).digest();
    rates.push(data.length / ((performance.now() - start) / 1000));
  }
  return median(rates);
}

interface Run {
  seconds: number;
  cpuSeconds: number;
  maxRssBytes: number;
}

/**
 * Runs a whole process under GNU time: wall (measured here), user+system CPU of it and its children, largest RSS.
 * Dirty pages of earlier runs' outputs are written back first, so no run pays for another's writeback.
 */
function timedRun(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Run {
  execFileSync("sync");
  const start = performance.now();
  const child = spawnSync("/usr/bin/time", ["-f", "TIME %U %S %M", command, ...args], {
    encoding: "utf8",
    env,
    cwd: ROOT,
  });
  const seconds = (performance.now() - start) / 1000;
  const line = child.stderr.split("\n").find((l) => l.startsWith("TIME "));
  if (child.status !== 0 || !line)
    throw new Error(`${command} ${args.join(" ")} failed (${child.status}): ${child.stderr}${child.stdout}`);
  const [user, sys, rss] = line.slice(5).split(" ").map(Number);
  return { seconds, cpuSeconds: user! + sys!, maxRssBytes: rss! * 1024 };
}

/** Largest |a - b| over every tensor of two safetensors files of the same layout, as float32. */
async function maxAbsDifference(a: string, b: string): Promise<number> {
  const ra = await SafetensorsReader.open(a);
  const rb = await SafetensorsReader.open(b);
  try {
    let worst = 0;
    for (const { name } of ra.manifest.tensors) {
      const x = (await ra.readTensor(name, { float32: true })).data as Float32Array;
      const y = (await rb.readTensor(name, { float32: true })).data as Float32Array;
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

interface Case {
  dtype: Dtype;
  inputs: string[];
  inputBytes: number;
  outputBytes: number;
  soup: Run[];
  numpy: Run[];
  difference: number;
}

async function runCase(dir: string, dtype: Dtype): Promise<Case> {
  const inputs: string[] = [];
  let inputBytes = 0;
  for (let m = 0; m < MODELS; m++) {
    const path = join(dir, `${dtype}-${m}.safetensors`);
    inputBytes += await writeCheckpoint(path, 0x9e3779b9 ^ (m + 1), dtype);
    inputs.push(path);
  }
  execFileSync("sync");
  const soupOut = join(dir, `soup-${dtype}.safetensors`);
  const numpyOut = join(dir, `numpy-${dtype}.safetensors`);
  const script = join(ROOT, "bench", "merge-speed", SCRIPTS[dtype]);
  // OpenBLAS may be pinned for tests on this machine; the reference runs unpinned.
  const numpyEnv = { ...process.env };
  delete numpyEnv.OPENBLAS_CORETYPE;
  delete numpyEnv.OPENBLAS_L2_SIZE;
  const soup: Run[] = [];
  const numpy: Run[] = [];
  for (let run = 0; run < RUNS; run++) {
    await rm(soupOut, { force: true });
    await rm(soupOut.replace(/\.safetensors$/, ".recipe.json"), { force: true });
    await rm(numpyOut, { force: true });
    soup.push(
      timedRun(process.execPath, [
        join(ROOT, "dist", "cli.cjs"),
        "merge",
        ...inputs,
        "--weights",
        WEIGHTS.join(","),
        "--out",
        soupOut,
      ]),
    );
    numpy.push(timedRun(PYTHON, [script, numpyOut, WEIGHTS.join(","), ...inputs], numpyEnv));
    console.log(
      `${dtype} run ${run + 1}: model-soup ${soup.at(-1)!.seconds.toFixed(2)} s (cpu ${soup.at(-1)!.cpuSeconds.toFixed(2)}), numpy ${numpy.at(-1)!.seconds.toFixed(2)} s (cpu ${numpy.at(-1)!.cpuSeconds.toFixed(2)})`,
    );
  }
  const difference = await maxAbsDifference(soupOut, numpyOut);
  const outputBytes = (await stat(soupOut)).size;
  for (const p of inputs) await rm(p);
  return { dtype, inputs, inputBytes, outputBytes, soup, numpy, difference };
}

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, "dist", "cli.cjs"))) throw new Error("build first: npm run build");
  const numpyVersion = execFileSync(PYTHON, ["-c", "import numpy; print(numpy.__version__)"], {
    encoding: "utf8",
  }).trim();
  const dir = await mkdtemp(join(tmpdir(), "soup-bench-merge-speed-"));
  const loadStart = loadavg();
  try {
    const bandwidth = memoryCopyBandwidth();
    const hashRate = sha256Bandwidth();
    console.log(`memory copy: ${gb(bandwidth)} GB/s; SHA-256: ${gb(hashRate)} GB/s per thread`);
    // The fixed cost of a whole `model-soup merge` process (CLI start, worker start, recipe): a merge of a 4 KB model.
    const tiny = join(
      ROOT,
      "test",
      "fixtures",
      "real-models",
      "safetensors-jl-fixtures",
      "non_sharded",
      "model.safetensors",
    );
    const fixed: Run[] = [];
    for (let run = 0; run < RUNS; run++) {
      const out = join(dir, `tiny-${run}.safetensors`);
      fixed.push(
        timedRun(process.execPath, [
          join(ROOT, "dist", "cli.cjs"),
          "merge",
          tiny,
          tiny,
          "--weights",
          "0.5,0.5",
          "--out",
          out,
        ]),
      );
    }
    const fixedSeconds = median(fixed.map((r) => r.seconds));
    const fixedCpu = median(fixed.map((r) => r.cpuSeconds));
    console.log(`fixed cost: ${fixedSeconds.toFixed(2)} s (cpu ${fixedCpu.toFixed(2)})`);
    const only = process.env.DTYPES?.split(",") as Dtype[] | undefined;
    const cases: Case[] = [];
    for (const dtype of only ?? (["float32", "bfloat16", "float16"] as Dtype[])) cases.push(await runCase(dir, dtype));
    const loadEnd = loadavg();
    const rows: string[] = [];
    const notes: string[] = [];
    const met = (ok: boolean) => (ok ? "met" : "NOT met");
    for (const c of cases) {
      const s = {
        seconds: median(c.soup.map((r) => r.seconds)),
        cpu: median(c.soup.map((r) => r.cpuSeconds)),
        rss: median(c.soup.map((r) => r.maxRssBytes)),
      };
      const n = {
        seconds: median(c.numpy.map((r) => r.seconds)),
        cpu: median(c.numpy.map((r) => r.cpuSeconds)),
        rss: median(c.numpy.map((r) => r.maxRssBytes)),
      };
      const moved = c.inputBytes + c.outputBytes;
      const name = REFERENCE_NAMES[c.dtype];
      rows.push(
        `| ${c.dtype} | \`model-soup merge --weights\` | ${s.seconds.toFixed(2)} s | ${s.cpu.toFixed(2)} s | ${gb(moved / s.seconds)} GB/s | ${mib(s.rss)} |`,
      );
      rows.push(
        `| ${c.dtype} | ${name} (NumPy ${numpyVersion}) | ${n.seconds.toFixed(2)} s | ${n.cpu.toFixed(2)} s | ${gb(moved / n.seconds)} GB/s | ${mib(n.rss)} |`,
      );
      const ratio = s.seconds / n.seconds;
      const perRun = c.soup.map((r, i) => (r.seconds / c.numpy[i]!.seconds).toFixed(2)).join(", ");
      notes.push(
        `- ${c.dtype}: wall time Model Soup / NumPy ${ratio.toFixed(2)}× (median of the runs' ratios: ${median(c.soup.map((r, i) => r.seconds / c.numpy[i]!.seconds)).toFixed(2)}×; each run: ${perRun}; target ≤ 1.0×: ${met(ratio <= 1)}); ` +
          `CPU time ratio ${(s.cpu / n.cpu).toFixed(2)}×. Bytes read + written ${gb(moved)} GB at ${gb(moved / s.seconds)} GB/s = memory-copy bandwidth / ${(bandwidth / (moved / s.seconds)).toFixed(2)} (target ≤ 2: ${met(bandwidth / (moved / s.seconds) <= 2)}). ` +
          `Largest |Model Soup − NumPy| over the merged values: ${c.difference.toExponential(2)}.`,
      );
    }
    const c0 = cases[0]!;
    const section = [
      "## Fixed-weight merge vs the NumPy memory-map loop (issue 11)",
      "",
      `Generated by \`node --import tsx bench/merge-speed/run.ts\` on ${new Date().toISOString().slice(0, 10)} (after \`npm run build\`). ` +
        `Four generated checkpoints of ${mib(c0.inputBytes / MODELS)} each in ${c0.dtype} (half that in the 16-bit types; a 16000 × 1024 embedding and 11 blocks), weights ${WEIGHTS.join(", ")}, files in the page cache. ` +
        `Both sides are whole processes timed from outside (Model Soup: \`node dist/cli.cjs merge … --weights … --out …\`, which runs the merge in the CLI's own process through the fused WebAssembly pass, hashes every input for the recipe on worker threads (one file per thread, up to one thread per core) and writes the recipe; ` +
        `NumPy: \`bench/merge-speed/numpy_mmap_merge*.py\`, interpreter start and \`import numpy\` included), alternating, ${RUNS} runs each, medians. ` +
        `CPU = user + system of the process and its children (GNU time). Machine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ` +
        `load average ${loadStart[0]!.toFixed(1)} at the start and ${loadEnd[0]!.toFixed(1)} at the end (other work shares the 2 cores: wall times include waiting for them).`,
      "",
      "| inputs | implementation | wall time | CPU time | bytes read + written per second | peak RSS |",
      "|---|---|---|---|---|---|",
      ...rows,
      "",
      `- Memory-copy bandwidth (TypedArray.set between 512 MiB buffers, median of 5, measured in this run): ${gb(bandwidth)} GB/s.`,
      `- Fixed cost of a \`model-soup merge\` process, measured here as the merge of a 4 KB model (CLI start, hashing thread start, recipe): ` +
        `${fixedSeconds.toFixed(2)} s wall, ${fixedCpu.toFixed(2)} s CPU (median of ${RUNS}). Without it, the merge of the four files takes ` +
        cases
          .map(
            (c) =>
              `${c.dtype} ${(median(c.soup.map((r) => r.seconds)) - fixedSeconds).toFixed(2)} s wall, ${(median(c.soup.map((r) => r.cpuSeconds)) - fixedCpu).toFixed(2)} s CPU`,
          )
          .join("; ") +
        ".",
      ...notes,
      `- SHA-256 (node:crypto, which uses the CPU's SHA extensions) hashes ${gb(hashRate)} GB/s on one thread here. ` +
        cases
          .map((c) => {
            const hashCpu = c.inputBytes / hashRate;
            const floor = (hashCpu + fixedCpu) / cpus().length;
            return `Hashing the ${c.dtype} inputs for the recipe alone is ${hashCpu.toFixed(2)} s of CPU, so with the fixed cost no ${c.dtype} merge with a recipe can take less than ${floor.toFixed(2)} s on ${cpus().length} cores, even if merging cost nothing (NumPy's median ${median(c.numpy.map((r) => r.seconds)).toFixed(2)} s records no hashes)`;
          })
          .join("; ") +
        ".",
      "- What else a merge costs (docs/performance.md): one copy of every input byte from the page cache by pread (NumPy memory-maps), one copy into the fused kernel's memory, the kernel's pass (decode, float64 sum, range check, encode), and the write; " +
        "the per-process fixed cost (Node start and compiling the CLI bundle) is the line above.",
    ].join("\n");
    await writeBenchmarkSection("merge-speed", section);
    console.log(section);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
