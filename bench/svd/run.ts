/**
 * How long the SVD-based merges' linear algebra takes (src/core/merge/linalg/), beside NumPy's LAPACK SVD
 * (`numpy.linalg.svd(a, full_matrices=False)`, float64) on matrices of the same size, timed in the same run so that
 * the ratio holds on a loaded machine; and how long one layer merge of TSV-M and Iso-C takes. Square matrices of
 * uniform random values (float32, used in float64); medians of `--repeats` runs (one run from 2048 up). Ours runs
 * on one thread, so NumPy is held to one too (OMP/OpenBLAS/MKL thread variables set to 1). Prints a Markdown
 * table; with --write it replaces the `svd` section of BENCHMARKS.md.
 *
 *   node --import tsx bench/svd/run.ts [--sizes 1024,2048] [--with-4096] [--method-sizes 1024] [--tasks 4]
 *                                      [--repeats 3] [--write]
 *
 * --with-4096 adds 4096 to both lists (the SVD and the Iso-C merge: under a minute each for ours here, about four
 * minutes for NumPy's reference LAPACK, see BENCHMARKS.md; TSV-M at 4096 is its own choice, `--method-sizes 4096`,
 * as it takes T + 2 SVDs' time).
 */
import { execFileSync } from "node:child_process";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { matrix, type Matrix } from "../../src/core/merge/linalg/dense.js";
import { polarFactor, thinSvd } from "../../src/core/merge/linalg/svd.js";
import type { MergeMethod } from "../../src/core/merge/method.js";
import { isoC } from "../../src/core/merge/methods/iso-c.js";
import { tsvM } from "../../src/core/merge/methods/tsv-m.js";
import { mulberry32 } from "../../src/core/random.js";
import { writeBenchmarkSection } from "../benchmarks-md.js";
import { median } from "../stats.js";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "1024,2048" },
    "method-sizes": { type: "string", default: "1024" },
    "with-4096": { type: "boolean", default: false },
    tasks: { type: "string", default: "4" },
    repeats: { type: "string", default: "3" },
    write: { type: "boolean", default: false },
  },
});
const list = (s: string) => (s === "" ? [] : s.split(",").map(Number));
const sizes = list(values.sizes);
const methodSizes = list(values["method-sizes"]);
if (values["with-4096"]) {
  if (!sizes.includes(4096)) sizes.push(4096);
  if (!methodSizes.includes(4096)) methodSizes.push(4096);
}
/** Sizes at which only Iso-C is merged, unless asked for by --method-sizes itself (TSV-M costs T + 2 SVDs). */
const isoCOnly = new Set(values["with-4096"] && !list(values["method-sizes"]).includes(4096) ? [4096] : []);
const tasks = Number(values.tasks);
const repeats = Number(values.repeats);
const PYTHON = "/usr/bin/python3";
const ONE_THREAD = { OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1", MKL_NUM_THREADS: "1" };

function uniform(length: number, seed: number, scale = 1): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length }, () => scale * (2 * random() - 1));
}

function randomMatrix(n: number, seed: number): Matrix {
  return matrix(n, n, uniform(n * n, seed));
}

function timeIt(runs: number, f: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    times.push((performance.now() - t0) / 1000);
  }
  return median(times);
}

/** NumPy's median seconds for a thin SVD of an n × n float64 matrix, on one thread. */
function numpySeconds(n: number, runs: number): number {
  const script = [
    "import numpy as np, time, sys",
    "n, runs = int(sys.argv[1]), int(sys.argv[2])",
    "a = np.random.default_rng(0).uniform(-1, 1, (n, n)).astype(np.float32).astype(np.float64)",
    "ts = []",
    "for _ in range(runs):",
    "    t0 = time.perf_counter(); np.linalg.svd(a, full_matrices=False); ts.append(time.perf_counter() - t0)",
    "print(float(np.median(ts)))",
  ].join("\n");
  const env = { ...process.env, ...ONE_THREAD };
  return Number(execFileSync(PYTHON, ["-c", script, String(n), String(runs)], { encoding: "utf8", env }).trim());
}

/** One layer merge of `tasks` fine-tunes of an n × n PyTorch weight (outputs first), in seconds. */
function methodSeconds(method: MergeMethod, n: number): number {
  const base = uniform(n * n, 1, 0.05);
  const models = Array.from({ length: tasks }, (_, i) => {
    const task = uniform(n * n, 100 + i, 0.01);
    return task.map((x, k) => base[k]! + x);
  });
  const params = Object.fromEntries(method.globalParams.map((p) => [p.name, p.default as number]));
  return timeIt(1, () =>
    method.merge({
      tensor: { name: "layer.weight", layer: "layer", shape: [n, n] },
      models,
      base,
      params,
      modelParams: models.map(() => ({})),
    }),
  );
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const load: number[] = [loadavg()[0]!];
const svdRows: string[] = [];
for (const n of sizes) {
  const runs = n >= 2048 ? 1 : repeats;
  const a = randomMatrix(n, n);
  const svd = timeIt(runs, () => thinSvd(a));
  const polar = timeIt(runs, () => polarFactor(a));
  const numpy = numpySeconds(n, runs);
  load.push(loadavg()[0]!);
  const row = `| ${n} × ${n} | ${runs} | ${svd.toFixed(2)} s | ${polar.toFixed(2)} s | ${numpy.toFixed(2)} s | ${(svd / numpy).toFixed(2)}× |`;
  svdRows.push(row);
  log(row);
}

const methodRows: string[] = [];
for (const n of methodSizes) {
  const iso = methodSeconds(isoC, n);
  load.push(loadavg()[0]!);
  const tsv = isoCOnly.has(n) ? undefined : methodSeconds(tsvM, n);
  load.push(loadavg()[0]!);
  const row = `| ${n} × ${n}, ${tasks} tasks | ${iso.toFixed(2)} s | ${tsv === undefined ? "not run" : `${tsv.toFixed(2)} s`} |`;
  methodRows.push(row);
  log(row);
}

const flags = [
  `--sizes ${values.sizes}`,
  `--method-sizes ${values["method-sizes"]}`,
  values["with-4096"] ? "--with-4096" : "",
  `--tasks ${tasks}`,
]
  .filter((f) => f !== "")
  .join(" ");
const body = `
## SVD of the SVD-based merges vs NumPy/LAPACK (issue 22)

Generated by \`node --import tsx bench/svd/run.ts ${flags} --write\` on ${new Date().toISOString().slice(0, 10)}.
Square matrices of uniform random values in [−1, 1) (float32, computed in float64); medians of the runs counted in
the table. NumPy is \`numpy.linalg.svd(a, full_matrices=False)\` (LAPACK's gesdd) on one thread, as ours runs, timed by
the same script right after ours so the ratio is taken under the same load. On this machine NumPy links Debian's
reference BLAS and LAPACK (\`libblas3\`/\`liblapack3\`, unoptimised Fortran, not OpenBLAS): a slow baseline. The
machine has 2 cores, shared by several sessions: the load average was ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)} during this run
(about 1 is this run alone).

| matrix | runs | thin SVD (ours) | polar factor U Vᵀ (ours) | NumPy SVD | ours / NumPy |
| ------ | ---- | --------------- | ------------------------ | --------- | ------------ |
${svdRows.join("\n")}

One layer merge (\`merge\` of the method, defaults), an n × n weight with ${tasks} fine-tunes of one base:

| layer | Iso-C | TSV-M |
| ----- | ----- | ----- |
${methodRows.join("\n")}
`;
process.stdout.write(body);
if (values.write) await writeBenchmarkSection("svd", body);
