/**
 * Manifest-read benchmark: 500 model files (copies of the real fixtures of every format, spread evenly over the
 * formats) in a temp dir, each read once with readManifest after a warm-up; median and p90 per format, plus one
 * analyzeModels pass over all of them (read and group, as the tree view does). Target: under 2 ms a file.
 * Writes its table into BENCHMARKS.md between <!-- manifest-read --> markers.
 *
 *   node --import tsx bench/manifest-read.ts [--files N] [--no-write]
 */
import { copyFile, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import { performance } from "node:perf_hooks";
import { analyzeModels } from "../src/core/architecture/analyze.js";
import { groupManifests } from "../src/core/architecture/grouping.js";
import { readManifest } from "../src/core/formats/registry.js";
import type { FormatId, ModelManifest } from "../src/core/model.js";
import { writeBenchmarkSection } from "./benchmarks-md.js";

const FIXTURES = join("test", "fixtures");
const TARGET_MS = 2;
const MODEL_FILE = /\.(json|h5|hdf5|keras|safetensors)$/i;

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() ? walk(join(dir, e.name)) : Promise.resolve([join(dir, e.name)]))),
  );
  return nested.flat().sort();
}

/** Every fixture that reads as a model, minus files that are only part of another model (shards, topologies). */
async function fixtureModels(): Promise<ModelManifest[]> {
  const manifests: ModelManifest[] = [];
  for (const path of (await walk(FIXTURES)).filter((p) => MODEL_FILE.test(p))) {
    try {
      manifests.push(await readManifest(path));
    } catch {
      // Not a model (provenance notes, data files, deliberately broken fixtures).
    }
  }
  const parts = new Set(manifests.flatMap((m) => m.files.slice(1).map((f) => relative(".", f))));
  return manifests.filter((m) => !parts.has(relative(".", m.path)));
}

/** Copies a model's files into `dir`, keeping their layout relative to the model's own file. */
async function copyModel(model: ModelManifest, dir: string): Promise<string> {
  const base = dirname(model.path);
  for (const file of model.files) {
    const rel = relative(base, file);
    if (rel.startsWith("..")) throw new Error(`${model.path}: part ${file} lies outside the model's folder`);
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await copyFile(file, join(dir, rel));
  }
  return join(dir, relative(base, model.path));
}

function quantile(sorted: number[], q: number): number {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
}

const ms = (x: number) => x.toFixed(2);

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const count = args.includes("--files") ? Number(args[args.indexOf("--files") + 1]) : 500;
  const write = !args.includes("--no-write");

  const fixtures = await fixtureModels();
  const byFormat = new Map<FormatId, ModelManifest[]>();
  for (const m of fixtures) byFormat.set(m.format, [...(byFormat.get(m.format) ?? []), m]);
  const formats = [...byFormat.keys()].sort();

  const dir = await mkdtemp(join(tmpdir(), "model-soup-bench-manifest-"));
  try {
    // Round-robin over formats, and within a format over its fixtures, so each format gets a fair share.
    const copies: { format: FormatId; path: string; source: string }[] = [];
    for (let i = 0; i < count; i++) {
      const format = formats[i % formats.length]!;
      const list = byFormat.get(format)!;
      const source = list[Math.floor(i / formats.length) % list.length]!;
      copies.push({
        format,
        source: source.path,
        path: await copyModel(source, join(dir, String(i).padStart(4, "0"))),
      });
    }

    // Warm-up: module start-up (h5wasm's WebAssembly) is paid once per process, not per file.
    for (const m of fixtures) await readManifest(m.path);

    const load = loadavg()[0]!;
    const times = new Map<FormatId, number[]>(formats.map((f) => [f, []]));
    const cpuTimes = new Map<FormatId, number[]>(formats.map((f) => [f, []]));
    const manifests: ModelManifest[] = [];
    const wallStart = performance.now();
    for (const copy of copies) {
      const start = performance.now();
      const cpu = process.cpuUsage();
      manifests.push(await readManifest(copy.path));
      const used = process.cpuUsage(cpu);
      times.get(copy.format)!.push(performance.now() - start);
      cpuTimes.get(copy.format)!.push((used.user + used.system) / 1000);
    }
    const wall = performance.now() - wallStart;

    const groupStart = performance.now();
    const grouping = groupManifests(manifests);
    const groupMs = performance.now() - groupStart;
    const warmStart = performance.now();
    groupManifests(manifests);
    const warmGroupMs = performance.now() - warmStart;

    const analyzeStart = performance.now();
    const analysis = await analyzeModels(copies.map((c) => c.path));
    const analyzeMs = performance.now() - analyzeStart;
    if (analysis.unreadable.length > 0)
      throw new Error(`unreadable copies: ${analysis.unreadable.map((u) => u.error).join("; ")}`);

    const all = [...times.values()].flat().sort((a, b) => a - b);
    const allCpu = [...cpuTimes.values()].flat().sort((a, b) => a - b);
    const row = (name: string, values: number[], cpuValues: number[], fixturesUsed: string) => {
      const sorted = [...values].sort((a, b) => a - b);
      const cpuSorted = [...cpuValues].sort((a, b) => a - b);
      const median = quantile(sorted, 0.5);
      return (
        `| ${name} | ${fixturesUsed} | ${sorted.length} | ${ms(median)} | ${ms(quantile(sorted, 0.9))} | ${ms(sorted[sorted.length - 1]!)} | ` +
        `${ms(quantile(cpuSorted, 0.5))} | ${ms(quantile(cpuSorted, 0.9))} | ${median < TARGET_MS ? "yes" : "no"} |`
      );
    };
    const table = [
      `Manifest read (\`node --import tsx bench/manifest-read.ts\`), ${count} files in one run: copies of the model files in`,
      `test/fixtures (the real ones, and the generated Keras 3 ones), spread evenly over the formats; each file read once`,
      `with \`readManifest\` after a warm-up read of each fixture. "cpu" is the process's user+system time during the read,`,
      `which other load on the machine inflates less than wall time.`,
      `Machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? "?"}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; ` +
        `1-minute load average ${load.toFixed(1)} at the start (other work on the machine inflates the times).`,
      "",
      `| format | fixtures | files | median ms | p90 ms | max ms | cpu median ms | cpu p90 ms | median < ${TARGET_MS} ms |`,
      "|---|---|---|---|---|---|---|---|---|",
      ...formats.map((f) => row(f, times.get(f)!, cpuTimes.get(f)!, String(byFormat.get(f)!.length))),
      row("all", all, allCpu, String(fixtures.length)),
      "",
      `Sequential reads of all ${count} files: ${ms(wall)} ms (${ms(wall / count)} ms a file). ` +
        `Fingerprinting and grouping the ${count} manifests already read (\`groupManifests\`): ${ms(groupMs)} ms ` +
        `on first call, ${ms(warmGroupMs)} ms on a second; ${grouping.groups.length} groups. ` +
        `\`analyzeModels\` over the same files (read 8 at a time, fingerprint, group): ${ms(analyzeMs)} ms, ` +
        `${analysis.groups.length} groups.`,
    ].join("\n");
    console.log(table);
    console.log("\nfixtures used:\n" + fixtures.map((m) => `  ${m.format}  ${m.path.split(sep).join("/")}`).join("\n"));
    if (write) await writeBenchmarkSection("manifest-read", `## Manifest read\n\n${table}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
