/**
 * The data-aware benchmark: on each family of bench/data-aware/make-families.ts, every method side by side on one
 * held-out test split — the ingredients, the base, the uniform soup, greedy and learned soups, RegMean, Fisher (on
 * the labels and on each model's own predictions), RegMean++,
 * task arithmetic, TIES, TSV-M, Iso-C and Iso-CTS (λ chosen on the validation split), the data-free TSV-M, Iso-C,
 * Iso-CTS and WUDI with their defaults, and the output ensemble.
 *
 * Merge data: samples/digits/soup.csv.gz (no row seen by any model), pixels / 16, split with seed 0 into learn /
 * validation / test = 40 / 20 / 40 % (stratified): 359 / 180 / 360 rows. Statistics (RegMean, Fisher) and learned
 * coefficients use the learn split; greedy and λ use validation; every number below is on test.
 *
 *   node --import tsx bench/data-aware/run.ts [--backend wasm|cpu]   (makes the families first when missing)
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CancellationToken } from "vscode-jsonrpc";
import { prepareMerge } from "../../src/core/merge/plan.js";
import type { MergeSpec } from "../../src/core/merge/spec.js";
import type { BackendName, DataSpec, EvaluateReport, MetricPair } from "../../src/protocol/worker.js";
import { selectBackend } from "../../src/worker/backend.js";
import { predictAll, scorePredictions } from "../../src/worker/evaluate/score.js";
import { taskFor } from "../../src/worker/evaluate/evaluate.js";
import type { JobContext } from "../../src/core/job-context.js";
import { disposeJobData, loadJobData } from "../../src/worker/jobs/session/data.js";
import { runCompare } from "../../src/worker/jobs/compare.js";
import { disposeProblem, loadProblem } from "../../src/worker/jobs/session/problem.js";
import type { SoupData } from "../../src/worker/learn/problem.js";
import { writeIngredient } from "../../src/worker/stats/index.js";
import { makeFamilies, OUT, type Families } from "./make-families.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DATA: DataSpec = {
  path: join(ROOT, "samples/digits/soup.csv.gz"),
  scale: 1 / 16,
  seed: 0,
  fractions: { learn: 0.4, validation: 0.2, test: 0.4 },
};
const LAMBDAS = [0.2, 0.4, 0.6, 0.8, 1.0];
const TIES_DENSITY = 0.2;
/** WUDI's learning rate for the digit families, fixed before any result: their task vectors are of order 0.1. */
const WUDI_SCALED_LR = 1e-3;
/** The paper's (and FusionBench's) absolute learning rate, for comparison with the scale-free default. */
const WUDI_PAPER_LR = 1e-5;

const context: JobContext = { token: CancellationToken.None, progress: () => undefined, log: () => undefined };

/** Task arithmetic and TIES (λ chosen on validation), and the base itself, scored on test. */
async function taskVectorRows(
  models: string[],
  base: string,
  backend: BackendName,
): Promise<Array<{ method: string } & MetricPair>> {
  await selectBackend(backend);
  const loaded = await loadProblem(models, base);
  const data = await loadJobData(DATA, loaded);
  try {
    const { problem, bindings } = loaded;
    const task = taskFor(problem, data.test, { trainingConfig: loaded.trainingConfig });
    const score = async (split: SoupData): Promise<MetricPair> => {
      const pred = await predictAll(problem.model, split.x, 1024);
      const s = scorePredictions(task, pred, split.y!);
      pred.dispose();
      return { loss: s.loss, metric: s.metric };
    };
    const write = (spec: MergeSpec) => {
      const prepared = prepareMerge(spec);
      writeIngredient(
        problem,
        bindings.map(
          (b, k) =>
            prepared.mergeTensor({
              info: { name: b.tensor, layer: b.layer, shape: b.variable.shape as number[], dtype: "float32" },
              ingredients: problem.ingredients.map((ing) => ing[k]!),
              base: problem.base![k]!,
            }) as Float32Array,
        ),
      );
    };
    const rows: Array<{ method: string } & MetricPair> = [];
    writeIngredient(problem, problem.base!);
    rows.push({ method: "base model (before fine-tuning)", ...(await score(data.test)) });
    const weighted = (method: string) => method === "task_arithmetic" || method === "ties";
    for (const [label, method, params] of [
      ["task arithmetic", "task_arithmetic", {}],
      [`TIES (density ${TIES_DENSITY})`, "ties", { density: TIES_DENSITY }],
      ["TSV-M", "tsv_m", {}],
      ["Iso-C", "iso_c", {}],
      ["Iso-CTS", "iso_cts", {}],
    ] as const) {
      let best: { lambda: number; validation: MetricPair } | undefined;
      for (const lambda of LAMBDAS) {
        write({
          method,
          params: { ...params, lambda },
          base,
          ingredients: models.map((path) => (weighted(method) ? { path, weight: 1 } : { path })),
        });
        const validation = await score(data.validation);
        if (
          best === undefined ||
          validation.metric > best.validation.metric ||
          (validation.metric === best.validation.metric && validation.loss < best.validation.loss)
        ) {
          best = { lambda, validation };
        }
      }
      write({
        method,
        params: { ...params, lambda: best!.lambda },
        base,
        ingredients: models.map((path) => (weighted(method) ? { path, weight: 1 } : { path })),
      });
      rows.push({ method: `${label}, λ = ${best!.lambda} (chosen on validation)`, ...(await score(data.test)) });
    }
    // The data-free SVD-based merges and WUDI with their defaults, untuned (docs/methods.md).
    for (const [label, method, params] of [
      ["TSV-M, defaults (λ 1, rank 1/T), untuned", "tsv_m", {}],
      ["Iso-C, defaults (λ 1), untuned", "iso_c", {}],
      ["Iso-CTS, defaults (λ 1, common space 0.8), untuned", "iso_cts", {}],
      ["WUDI, defaults (300 Adam steps, lr 1 % of each matrix's RMS), untuned", "wudi", {}],
      [`WUDI, the paper's lr ${WUDI_PAPER_LR}`, "wudi", { lr: WUDI_PAPER_LR }],
      [`WUDI, lr ${WUDI_SCALED_LR} (scaled to task vectors of order 0.1)`, "wudi", { lr: WUDI_SCALED_LR }],
    ] as const) {
      write({ method, params, base, ingredients: models.map((path) => ({ path })) });
      rows.push({ method: label, ...(await score(data.test)) });
    }
    return rows;
  } finally {
    disposeJobData(data);
    disposeProblem(loaded);
  }
}

function table(
  title: string,
  report: EvaluateReport,
  extra: Array<{ method: string } & MetricPair>,
  seconds: Record<string, number>,
): string {
  const pct = (m: number) => `${(m * 100).toFixed(2)} %`;
  const lines = [`#### ${title}`, "", "| model | test loss | test accuracy |", "|---|---|---|"];
  for (const m of report.metrics.ingredients)
    lines.push(`| ingredient ${m.model.split("/").slice(-2, -1)[0]} | ${m.loss.toFixed(4)} | ${pct(m.metric)} |`);
  for (const m of extra.slice(0, 1)) lines.push(`| ${m.method} | ${m.loss.toFixed(4)} | ${pct(m.metric)} |`);
  lines.push(`| uniform soup | ${report.metrics.uniform.loss.toFixed(4)} | ${pct(report.metrics.uniform.metric)} |`);
  for (const m of report.metrics.methods ?? [])
    lines.push(
      `| ${m.method === "Fisher merging" ? "Fisher merging (labels)" : m.method} | ${m.loss.toFixed(4)} | ${pct(m.metric)} |`,
    );
  for (const m of extra.slice(1)) lines.push(`| ${m.method} | ${m.loss.toFixed(4)} | ${pct(m.metric)} |`);
  lines.push(
    `| output ensemble (5× inference cost) | ${report.metrics.ensemble.loss.toFixed(4)} | ${pct(report.metrics.ensemble.metric)} |`,
  );
  lines.push(
    "",
    `Test split ${report.split.test} rows (learn ${report.split.learn}, validation ${report.split.validation}); backend ${report.backend}; ` +
      Object.entries(seconds)
        .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
        .join(", ") +
      ".",
  );
  const ridge = report.warnings.filter((w) => w.startsWith("RegMean:") && w.includes("ridge"));
  if (ridge.length > 0)
    lines.push(
      "",
      `RegMean added a ridge on ${ridge.length} of its kernels (singular Gram matrices: inputs that are zero on every learn row, dead ReLUs).`,
    );
  return lines.join("\n");
}

async function main(): Promise<void> {
  const backendArg = process.argv.indexOf("--backend");
  const backend = (backendArg > 0 ? process.argv[backendArg + 1] : "wasm") as BackendName;
  const families: Families = existsSync(join(OUT, "mixed-quality/one-epoch/model.json"))
    ? {
        base: join(OUT, "base/model.json"),
        multiTask: ["0123", "2345", "4567", "6789", "8901"].map((c) => join(OUT, `multi-task/classes-${c}/model.json`)),
        mixedQuality: ["good-a", "good-b", "noisy-labels", "lr-too-high", "one-epoch"].map((n) =>
          join(OUT, `mixed-quality/${n}/model.json`),
        ),
      }
    : await makeFamilies();
  for (const [title, models] of [
    ["Multi-task family (fine-tunes on different class subsets)", families.multiTask],
    ["Mixed-quality family", families.mixedQuality],
  ] as const) {
    const started = performance.now();
    const report = await runCompare(
      {
        models: [...models],
        data: DATA,
        methods: ["greedy", "learned", "regmean", "fisher", "regmean_plusplus"],
        backend,
      },
      context,
    );
    const compareSeconds = (performance.now() - started) / 1000;
    // Fisher again, differentiating each model's own prediction instead of the label (--fisher-target prediction).
    const own = await runCompare(
      { models: [...models], data: DATA, methods: ["fisher"], fisherTarget: "prediction", backend },
      context,
    );
    report.metrics.methods!.push(
      ...own.metrics.methods!.map((m) => ({ ...m, method: `${m.method} (own predictions)` })),
    );
    const t0 = performance.now();
    const extra = await taskVectorRows([...models], families.base, backend);
    process.stdout.write(
      `${table(title, report, extra, { "evaluate --methods all": compareSeconds, "task-vector and SVD-based merges": (performance.now() - t0) / 1000 })}\n\n`,
    );
  }
}

await main();
