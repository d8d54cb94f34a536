/**
 * Model viewer open time on a large file: what the viewer does before it draws (read the model's headers with
 * readManifest, stat its files, build the page's model with viewerInit), on a 500 MiB safetensors file of 256
 * float32 tensors. Reference in the same run: reading the file's bytes once (what a viewer that is not
 * header-only would pay at least). Median of 7 runs each, after one warm-up. Target: well under a second.
 * Writes its table into BENCHMARKS.md between <!-- viewer-open --> markers.
 *
 *   node --import tsx bench/viewer-open.ts [--mib N] [--no-write]
 */
import { open, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { readManifest } from "../src/core/formats/registry.js";
import { viewerInit } from "../src/host/viewer-model.js";
import { writeBenchmarkSection } from "./benchmarks-md.js";

const RUNS = 7;
const TENSORS = 256;
const args = process.argv.slice(2);
const mib = Number(args[args.indexOf("--mib") + 1] ?? 500) || 500;

async function writeSafetensors(path: string, bytes: number): Promise<void> {
  const perTensor = Math.floor(bytes / TENSORS / 4) * 4;
  const rows = perTensor / 4 / 1024;
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  for (let i = 0; i < TENSORS; i++) {
    header[`layers.${i}.weight`] = {
      dtype: "F32",
      shape: [rows, 1024],
      data_offsets: [i * perTensor, (i + 1) * perTensor],
    };
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  const file = await open(path, "w");
  try {
    await file.write(Buffer.concat([length, json]));
    const chunk = Buffer.alloc(perTensor);
    for (let i = 0; i < perTensor / 4; i++) chunk.writeFloatLE(Math.sin(i), i * 4);
    for (let i = 0; i < TENSORS; i++) await file.write(chunk);
  } finally {
    await file.close();
  }
}

async function viewerOpen(path: string): Promise<number> {
  const manifest = await readManifest(path);
  const sizes = await Promise.all(manifest.files.map((f) => stat(f).then((s) => s.size)));
  return viewerInit(
    manifest,
    sizes.reduce((a, b) => a + b, 0),
  ).tensors.length;
}

async function median(run: () => Promise<unknown>): Promise<number> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(RUNS / 2)]!;
}

const dir = await mkdtemp(join(tmpdir(), "soup-viewer-bench-"));
try {
  const path = join(dir, "large.safetensors");
  await writeSafetensors(path, mib * 1024 * 1024);
  const size = (await stat(path)).size;
  const tensors = await viewerOpen(path);
  if (tensors !== TENSORS) throw new Error(`the viewer saw ${tensors} tensors, expected ${TENSORS}`);
  const load = loadavg()[0]!.toFixed(1);
  const viewer = await median(() => viewerOpen(path));
  const whole = await median(() => readFile(path));
  const table = [
    `Viewer open (\`node --import tsx bench/viewer-open.ts\`): a ${(size / 2 ** 20).toFixed(0)} MiB safetensors file of ${TENSORS} float32`,
    `tensors; median of ${RUNS} runs after a warm-up, page cache warm. "Viewer open" is what the viewer does before it`,
    "draws (readManifest, stat, viewerInit); the reference reads the file's bytes once in the same run.",
    `Machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; 1-minute load average ${load} at the start.`,
    "",
    "| what | median ms | target |",
    "| --- | --- | --- |",
    `| viewer open (headers only) | ${viewer.toFixed(2)} | < 1000 ms: ${viewer < 1000 ? "met" : "not met"} |`,
    `| reference: read the whole file once | ${whole.toFixed(1)} | |`,
    "",
    `Ratio viewer / whole read: ${(viewer / whole).toFixed(4)}.`,
  ].join("\n");
  console.log(table);
  if (!args.includes("--no-write")) await writeBenchmarkSection("viewer-open", `\n## Model viewer open\n\n${table}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
