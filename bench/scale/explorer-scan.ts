/**
 * Scale benchmark (issue 21): the Model Explorer's scan of a workspace of `--files` model files (default 5,000).
 * The files are real models written by the repo's own writers (TF.js layers `model.json` + shard, PyTorch `.pt`
 * zip checkpoint, `.safetensors`), a few seeded variants of each, copied into 250 project folders. The scan runs
 * the code the extension host runs (src/host/model-catalog.ts `scan()`): list the files, `modelCandidates`,
 * `analyzeModels`, `findMerges`, then the tree (`buildTree`), in a fresh
 * Node process per run (so its peak RSS is the scan's), `--runs` times. VS Code lists files with ripgrep in a
 * process of its own (`vscode.workspace.findFiles`); here a recursive `readdir` stands in for it.
 *
 *   node --import tsx bench/scale/explorer-scan.ts [--files 5000] [--runs 3] [--write]
 */
import { spawnSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { analyzeModels } from "../../src/core/architecture/index.js";
import { writePytorch } from "../../src/core/formats/pytorch/writer.js";
import { writeSafetensors } from "../../src/core/formats/safetensors/writer.js";
import { writeTfjsModel } from "../../src/core/formats/tfjs-layers/writer.js";
import { modelCandidates } from "../../src/core/io/model-candidates.js";
import type { TensorSource } from "../../src/core/model.js";
import { mulberry32 } from "../../src/core/random.js";
import { elementCount } from "../../src/core/tensor.js";
import { findMerges } from "../../src/host/merges.js";
import { buildTree } from "../../src/host/tree-nodes.js";
import { writeBenchmarkSection } from "../benchmarks-md.js";
import { load, median, mib, peakRssOfThisProcess } from "./measure.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const TFJS_TEMPLATE = join(ROOT, "samples", "digits", "models", "ingredient-1", "model.json");
const PT_TEMPLATE = join(ROOT, "test", "fixtures", "pytorch", "mlp_a.pt");
const VARIANTS = 4;
const PROJECTS = 250;
/** The extensions MODEL_GLOB lists (src/core/io/model-candidates.ts), for the readdir that stands in for findFiles. */
const GLOB_LIKE = /\.(json|keras|h5|hdf5|safetensors|pt|pth|ckpt)$|^pytorch_model.*\.bin$/i;

interface ScanResult {
  files: number;
  candidates: number;
  models: number;
  groups: number;
  unreadable: number;
  listMs: number;
  candidatesMs: number;
  analyzeMs: number;
  mergesMs: number;
  treeMs: number;
  totalMs: number;
  rssBeforeMiB: number;
  peakRssMiB: number;
  heapRetainedMiB: number;
}

function noise(seed: number): TensorSource {
  const random = mulberry32(seed);
  return async (info) => Float32Array.from({ length: elementCount(info.shape) }, () => (random() - 0.5) * 0.2);
}

/** VARIANTS models of each format, written by the writers; returns the files of each (entry file first). */
async function writeVariants(dir: string): Promise<string[][]> {
  const variants: string[][] = [];
  for (let v = 0; v < VARIANTS; v++) {
    const folder = join(dir, `v${v}`);
    await mkdir(folder, { recursive: true });
    await writeTfjsModel(TFJS_TEMPLATE, join(folder, "model.json"), noise(100 + v));
    await writePytorch(PT_TEMPLATE, join(folder, "model.pt"), noise(200 + v));
    await writeSafetensors(join(folder, "model.pt"), join(folder, "model.safetensors"), noise(300 + v)).catch(
      async () => writePytorch(PT_TEMPLATE, join(folder, "model.safetensors"), noise(300 + v)),
    );
    const names = await readdir(folder);
    variants.push([join(folder, "model.json"), ...names.filter((n) => n.endsWith(".bin")).map((n) => join(folder, n))]);
    variants.push([join(folder, "model.pt")]);
    variants.push([join(folder, "model.safetensors")]);
  }
  return variants;
}

/** `files` model files in PROJECTS folders: TF.js models one per folder (with their shard), the others ten a folder. */
async function makeWorkspace(workspace: string, files: number, variants: string[][]): Promise<void> {
  for (let i = 0; i < files; i++) {
    const kind = i % 3; // 0 TF.js, 1 .pt, 2 .safetensors
    const source = variants[(Math.floor(i / 3) % VARIANTS) * 3 + kind]!;
    const project = join(workspace, `project-${String(i % PROJECTS).padStart(3, "0")}`);
    const folder = kind === 0 ? join(project, "tfjs", `run-${i}`) : join(project, kind === 1 ? "torch" : "safetensors");
    await mkdir(folder, { recursive: true });
    if (kind === 0) for (const f of source) await copyFile(f, join(folder, basename(f)));
    else await copyFile(source[0]!, join(folder, `epoch-${i}${kind === 1 ? ".pt" : ".safetensors"}`));
  }
}

async function walk(dir: string, out: string[] = []): Promise<string[]> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (GLOB_LIKE.test(e.name)) out.push(p);
  }
  return out;
}

/** One scan as ModelCatalog.scan() does it (run in a child process of its own). */
async function scanOnce(workspace: string): Promise<ScanResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const rssBefore = process.memoryUsage.rss();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const listed = await walk(workspace);
  const t1 = performance.now();
  const paths = await modelCandidates(listed);
  const t2 = performance.now();
  const analysis = await analyzeModels(paths);
  const t3 = performance.now();
  const merges = await findMerges(analysis.models.map((m) => m.path));
  const t4 = performance.now();
  const tree = buildTree(analysis, [workspace], merges);
  const t5 = performance.now();
  const kept = [analysis, merges, tree];
  gc?.();
  const heapRetained = process.memoryUsage().heapUsed - heapBefore;
  if (tree.length === 0 || kept.length !== 3) throw new Error("the scan found no group");
  return {
    files: listed.length,
    candidates: paths.length,
    models: analysis.models.length,
    groups: tree.filter((n) => n.kind === "group").length,
    unreadable: analysis.unreadable.length,
    listMs: t1 - t0,
    candidatesMs: t2 - t1,
    analyzeMs: t3 - t2,
    mergesMs: t4 - t3,
    treeMs: t5 - t4,
    totalMs: t5 - t0,
    rssBeforeMiB: rssBefore / 2 ** 20,
    peakRssMiB: peakRssOfThisProcess() / 2 ** 20,
    heapRetainedMiB: heapRetained / 2 ** 20,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      files: { type: "string", default: "5000" },
      runs: { type: "string", default: "3" },
      write: { type: "boolean", default: false },
      "scan-only": { type: "string" },
    },
  });
  if (values["scan-only"]) {
    process.stdout.write(JSON.stringify(await scanOnce(values["scan-only"])));
    return;
  }
  const files = Number(values.files);
  const dir = await mkdtemp(join(tmpdir(), "model-soup-scale-scan-"));
  try {
    const t = performance.now();
    const variants = await writeVariants(join(dir, "variants"));
    const workspace = join(dir, "workspace");
    await makeWorkspace(workspace, files, variants);
    const madeS = (performance.now() - t) / 1000;
    console.log(`workspace: ${files} model files in ${PROJECTS} projects, made in ${madeS.toFixed(1)} s`);
    const runs: ScanResult[] = [];
    for (let r = 0; r < Number(values.runs); r++) {
      const child = spawnSync(
        process.execPath,
        ["--expose-gc", "--import", "tsx", fileURLToPath(import.meta.url), "--scan-only", workspace],
        { encoding: "utf8", cwd: ROOT, maxBuffer: 64 * 2 ** 20 },
      );
      if (child.status !== 0) throw new Error(`scan failed: ${child.stderr}`);
      const result = JSON.parse(child.stdout) as ScanResult;
      runs.push(result);
      console.log(
        `run ${r + 1}: ${result.models} models in ${result.groups} groups (${result.unreadable} unreadable), ` +
          `total ${result.totalMs.toFixed(0)} ms (list ${result.listMs.toFixed(0)}, candidates ${result.candidatesMs.toFixed(0)}, ` +
          `read+group ${result.analyzeMs.toFixed(0)}, merges ${result.mergesMs.toFixed(0)}, tree ${result.treeMs.toFixed(0)}); ` +
          `peak RSS ${result.peakRssMiB.toFixed(0)} MiB (${result.rssBeforeMiB.toFixed(0)} before), heap retained ${result.heapRetainedMiB.toFixed(1)} MiB`,
      );
    }
    const m = (key: keyof ScanResult) => median(runs.map((r) => r[key]));
    const first = runs[0]!;
    const sizeOnDisk = Number(spawnSync("du", ["-sb", workspace], { encoding: "utf8" }).stdout.split("\t")[0] ?? 0);
    const limit =
      m("analyzeMs") >= m("totalMs") / 2
        ? `reading the ${first.candidates} manifests and grouping them (\`analyzeModels\`, ${(m("analyzeMs") / first.candidates).toFixed(2)} ms a file)`
        : "listing and filtering the files";
    const body = [
      "## Scale: Model Explorer scan of 5,000 model files (issue 21)",
      "",
      `Generated by \`node --import tsx bench/scale/explorer-scan.ts --files ${files} --runs ${runs.length} --write\` on ${new Date().toISOString().slice(0, 10)}: ${files} real model files (${mib(sizeOnDisk)} on disk) written by the repo's writers (${VARIANTS} seeded variants each of a TF.js digits MLP \`model.json\` + shard, a PyTorch \`.pt\` zip checkpoint and a \`.safetensors\`, from \`samples/digits\` and \`test/fixtures/pytorch/mlp_a.pt\`) and copied into ${PROJECTS} project folders (each TF.js model in a folder of its own). Each run is a fresh Node process doing what \`ModelCatalog.scan()\` does (list, \`modelCandidates\`, \`analyzeModels\`, \`findMerges\`, \`buildTree\`); a recursive \`readdir\` stands in for \`vscode.workspace.findFiles\` (ripgrep, out of process in VS Code). Files in the page cache; medians of ${runs.length} runs; load average ${load()} at the end (2 shared cores).`,
      "",
      "| measured | figure |",
      "| --- | --- |",
      `| models found / groups / unreadable | ${first.models} / ${first.groups} / ${first.unreadable} |`,
      `| time to first group shown | ${(m("totalMs") / 1000).toFixed(2)} s (the same as the whole tree: the catalog publishes one finished analysis) |`,
      `| time to the whole tree | ${(m("totalMs") / 1000).toFixed(2)} s (runs: ${runs.map((r) => (r.totalMs / 1000).toFixed(2)).join(", ")}) |`,
      `| of which: list files | ${m("listMs").toFixed(0)} ms |`,
      `| of which: \`modelCandidates\` (reads each .json to find TF.js models) | ${m("candidatesMs").toFixed(0)} ms |`,
      `| of which: \`analyzeModels\` (read every manifest, 8 at a time, fingerprint, group) | ${m("analyzeMs").toFixed(0)} ms |`,
      `| of which: \`findMerges\` (one readdir per folder) | ${m("mergesMs").toFixed(0)} ms |`,
      `| of which: \`buildTree\` | ${m("treeMs").toFixed(0)} ms |`,
      `| peak RSS of the scanning process | ${m("peakRssMiB").toFixed(0)} MiB (${m("rssBeforeMiB").toFixed(0)} MiB before the scan: Node + the loaded code) |`,
      `| JS heap the finished analysis and tree hold (after a full GC) | ${m("heapRetainedMiB").toFixed(1)} MiB (${((m("heapRetainedMiB") * 1024) / first.models).toFixed(1)} KiB a model) |`,
      "",
      `What sets the time: ${limit}. The first group appears only with the whole tree: \`ModelCatalog\` fires \`onDidChange\` once, after \`analyzeModels\` has read and grouped every file, so the time to the first group is the time of the whole scan. Memory is set by the manifests kept for the tree (every tensor's name, shape and dtype of each model), not by tensor data, which the scan never reads.`,
    ].join("\n");
    console.log(`\n${body}`);
    if (values.write) await writeBenchmarkSection("scale-explorer", body);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
