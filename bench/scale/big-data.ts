/**
 * Scale benchmark (issue 21): loading a data file of millions of rows, and `learn` on it. The data is the digits
 * sample (`samples/digits/digits.csv.gz`, 1,797 rows of 64 pixel values 0..16 and a label) repeated to `--rows`
 * rows (default 2,000,000), written as a CSV and as an `x.npy` (float32) / `y.npy` (int64) pair. Each load runs in
 * a fresh process (`loadDataset`, as the worker calls it) at several row counts, so its peak RSS (VmHWM) is the
 * loader's; then `model-soup learn samples/digits/models --data … --steps N` runs whole under GNU time (CLI and
 * worker: peak RSS of the larger of the two).
 *
 *   npm run build && node --import tsx bench/scale/big-data.ts [--rows 2000000] [--steps 20] [--write]
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadDataset } from "../../src/core/data/load.js";
import { writeBenchmarkSection } from "../benchmarks-md.js";
import { digitsRows, writeCsv, writeNpyPair } from "./digits-data.js";
import { load, mib, peakRssOfThisProcess, timedRun } from "./measure.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CLI = join(ROOT, "dist", "cli.cjs");
const MODELS = join(ROOT, "samples", "digits", "models");
interface LoadResult {
  rows: number;
  seconds: number;
  peakRss: number;
  rssBefore: number;
  error?: string;
}

/** One load in this process (the child side). */
async function loadOnce(path: string): Promise<LoadResult> {
  const rssBefore = process.memoryUsage.rss();
  const t = performance.now();
  try {
    const dataset = await loadDataset(path, { scale: 0.0625 });
    return {
      rows: dataset.xShape[0]!,
      seconds: (performance.now() - t) / 1000,
      peakRss: peakRssOfThisProcess(),
      rssBefore,
    };
  } catch (error) {
    return {
      rows: 0,
      seconds: (performance.now() - t) / 1000,
      peakRss: peakRssOfThisProcess(),
      rssBefore,
      error: String(error).split("\n")[0],
    };
  }
}

function loadInChild(path: string): LoadResult {
  const child = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--load-only", path], {
    encoding: "utf8",
    cwd: ROOT,
  });
  if (child.status !== 0)
    return {
      rows: 0,
      seconds: 0,
      peakRss: 0,
      rssBefore: 0,
      error: (
        child.stderr
          .trim()
          .split("\n")
          .find((l) => /Error|heap/.test(l)) ?? `exit ${child.status}`
      ).slice(0, 200),
    };
  return JSON.parse(child.stdout) as LoadResult;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: "string", default: "2000000" },
      steps: { type: "string", default: "20" },
      write: { type: "boolean", default: false },
      "load-only": { type: "string" },
    },
  });
  if (values["load-only"]) {
    process.stdout.write(JSON.stringify(await loadOnce(values["load-only"])));
    return;
  }
  const full = Number(values.rows);
  const counts = [full / 8, full / 4, full / 2, full].map(Math.round);
  const digits = digitsRows();
  const dir = await mkdtemp(join(tmpdir(), "model-soup-scale-data-"));
  const loads: { kind: string; rows: number; fileBytes: number; result: LoadResult }[] = [];
  const learns: { kind: string; fileBytes: number; run: ReturnType<typeof timedRun>; report?: string }[] = [];
  try {
    for (const rows of counts) {
      const folder = join(dir, String(rows));
      await mkdir(folder);
      await writeCsv(join(folder, "digits.csv"), rows, digits);
      await writeNpyPair(folder, rows, digits);
      for (const [kind, file] of [
        ["npy", join(folder, "x.npy")],
        ["csv", join(folder, "digits.csv")],
      ] as const) {
        const fileBytes = (await stat(file)).size + (kind === "npy" ? (await stat(join(folder, "y.npy"))).size : 0);
        const result = loadInChild(file);
        loads.push({ kind, rows, fileBytes, result });
        console.log(
          `load ${kind} ${rows} rows (${mib(fileBytes)}): ${result.error ? `FAILED: ${result.error}` : `${result.seconds.toFixed(2)} s, peak RSS ${mib(result.peakRss)} (${mib(result.rssBefore)} before)`}`,
        );
        if (rows === full) {
          const run = timedRun(process.execPath, [
            CLI,
            "learn",
            MODELS,
            "--data",
            file,
            "--scale",
            "0.0625",
            "--steps",
            values.steps,
            "--json",
          ]);
          const report = run.status === 0 ? run.stdout : undefined;
          learns.push({ kind, fileBytes, run, report });
          console.log(
            `learn ${kind} ${rows} rows: exit ${run.status}, wall ${run.wallS.toFixed(1)} s, CPU ${run.cpuS.toFixed(1)} s, peak RSS ${mib(run.peakRss)}${run.status === 0 ? "" : `: ${run.stderr.trim().split("\n")[0]}`}`,
          );
        }
      }
      if (rows !== full) await rm(folder, { recursive: true, force: true });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const loadRows = loads.map(
    (l) =>
      `| ${l.kind === "npy" ? "`x.npy` + `y.npy`" : "CSV"} | ${l.rows.toLocaleString("en-US")} | ${mib(l.fileBytes)} | ${l.result.error ? `failed: ${l.result.error}` : `${l.result.seconds.toFixed(2)} s`} | ${l.result.error ? "—" : mib(l.result.peakRss)} | ${l.result.error ? "—" : `${((l.result.peakRss - l.result.rssBefore) / l.rows).toFixed(0)} B`} |`,
  );
  const learnRows = learns.map(
    (l) =>
      `| ${l.kind === "npy" ? "`x.npy` + `y.npy`" : "CSV"} | ${l.run.status === 0 ? "0" : `${l.run.status}: ${l.run.stderr.trim().split("\n")[0]}`} | ${l.run.wallS.toFixed(1)} s | ${l.run.cpuS.toFixed(1)} s | ${mib(l.run.peakRss)} |`,
  );
  const body = [
    "## Scale: loading and learning on 2 million rows (issue 21)",
    "",
    `Generated by \`npm run build && node --import tsx bench/scale/big-data.ts --rows ${full} --steps ${values.steps} --write\` on ${new Date().toISOString().slice(0, 10)}. The digits sample (1,797 rows of 64 pixel values 0..16 and a label) repeated to each row count, as a CSV and as an \`x.npy\` (float32) + \`y.npy\` (int64) pair. "Load" is \`loadDataset(path, { scale: 0.0625 })\` (what the worker calls) in a fresh Node process, its peak RSS the kernel's high-water mark (VmHWM); "per row" is that peak minus the process's RSS before loading, divided by the rows. "learn" is \`node dist/cli.cjs learn samples/digits/models --data … --scale 0.0625 --steps ${values.steps} --json\` (7 TF.js MLPs) as a whole process under GNU time (its peak RSS is the larger of the CLI's and the worker's). Load average ${load()} at the end (2 shared cores).`,
    "",
    "| data | rows | file size | load time | load peak RSS | per row |",
    "| --- | --- | --- | --- | --- | --- |",
    ...loadRows,
    "",
    `| learn on ${full.toLocaleString("en-US")} rows | exit | wall | CPU | peak RSS |`,
    "| --- | --- | --- | --- | --- |",
    ...learnRows,
  ].join("\n");
  console.log(`\n${body}`);
  if (values.write) await writeBenchmarkSection("scale-data", body);
}

await main();
