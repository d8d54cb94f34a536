// The experiments behind the learner's defaults (docs/learning.md): learning rate and schedule, the step budget,
// candidate starts and the small-data refit, on three families of digit classifiers, at model and layer
// granularity, on 100 rows and on all 899 rows of samples/digits/soup.csv.gz (rows no ingredient was trained on).
// Families: the demo's seven (five good + two harmful, samples/digits/models), its five good ones alone
// (equally good fine-tunes), and test/fixtures/learn-family (four good + two harmful, another architecture).
// Every run: the worker's own data loading and split (60/20/20, seeds 0-2), the greedy soup as a candidate as
// the learn job adds it, test rows scored only at the end.
// Run: node --import tsx bench/learn-defaults/run.ts [--backend wasm|cpu] > bench/learn-defaults/results.md
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { mulberry32, shuffleInPlace } from "../../src/core/random.js";
import { selectBackend, type BackendName } from "../../src/worker/backend.js";
import { evaluateSoups, taskFor } from "../../src/worker/evaluate/evaluate.js";
import { greedySoup } from "../../src/worker/evaluate/greedy.js";
import { uniformSoupRow } from "../../src/worker/evaluate/rows.js";
import { uniformMix } from "../../src/worker/evaluate/soup.js";
import { disposeJobData, loadJobData } from "../../src/worker/jobs/session/data.js";
import { disposeProblem, loadProblem } from "../../src/worker/jobs/session/problem.js";
import { LEARN_DEFAULTS } from "../../src/protocol/learn-defaults.js";
import { learnOnTfjs, type TfjsLearnOptions } from "../../src/worker/engine/tfjs-learn.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const option = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};

const digits = (list: number[]) =>
  list.map((i) => join(ROOT, "samples/digits/models", `ingredient-${i}`, "model.json"));
const FAMILIES: Record<string, string[]> = {
  "demo 7 (2 harmful)": digits([1, 2, 3, 4, 5, 6, 7]),
  "demo 5 good": digits([1, 2, 3, 4, 5]),
  "test family (2 harmful)": ["good-1", "good-2", "good-3", "good-4", "high-lr", "classes-5-9"].map((n) =>
    join(ROOT, "test/fixtures/learn-family", n, "model.json"),
  ),
};

type Config = [string, TfjsLearnOptions];
const SEEDS = [0, 1, 2, 3, 4];
const D = LEARN_DEFAULTS;
const CONFIGS: Config[] = [
  [
    "before: 10 epochs, lr 0.05 constant, uniform start, no candidates",
    { learningRate: 0.05, schedule: "constant", compareCandidates: false, refit: false, maxSteps: -1 },
  ],
  [
    "400 steps, lr 0.05 constant, uniform start, no candidates",
    { learningRate: 0.05, schedule: "constant", compareCandidates: false, refit: false },
  ],
  ["lr 0.01 cosine", { learningRate: 0.01, schedule: "cosine" }],
  ["lr 0.05 constant", { learningRate: 0.05, schedule: "constant" }],
  ["lr 0.05 cosine (default)", {}],
  ["lr 0.2 cosine", { learningRate: 0.2, schedule: "cosine" }],
  ["default, uniform start", { startAt: "uniform" }],
  ["default, no refit", { refit: false }],
];

async function subsetFile(dir: string, rows: number): Promise<string> {
  const lines = gunzipSync(await readFile(join(ROOT, "samples/digits/soup.csv.gz")))
    .toString("utf8")
    .trim()
    .split("\n");
  shuffleInPlace(lines, mulberry32(7));
  const path = join(dir, `soup-${rows}.csv`);
  await writeFile(path, lines.slice(0, rows).join("\n") + "\n");
  return path;
}

interface Row {
  family: string;
  rows: number;
  granularity: string;
  config: string;
  seed: number;
  uniform: number;
  bestSingleVal: number;
  bestSingleTest: number;
  learned: number;
  learnedLoss: number;
  uniformLoss: number;
  steps: number;
  kept: string;
  seconds: number;
}

async function main(): Promise<void> {
  const backend = (await selectBackend(option("backend", "wasm") as BackendName)).backend;
  const dir = await mkdtemp(join(tmpdir(), "learn-defaults-"));
  const results: Row[] = [];
  try {
    const files: Array<[number, string]> = [
      [100, await subsetFile(dir, 100)],
      [300, await subsetFile(dir, 300)],
      [899, join(ROOT, "samples/digits/soup.csv.gz")],
    ];
    for (const [family, models] of Object.entries(FAMILIES)) {
      const loaded = await loadProblem(models);
      try {
        for (const [rows, path] of files) {
          for (const seed of SEEDS) {
            const data = await loadJobData({ path, seed }, loaded);
            try {
              const task = taskFor(loaded.problem, data.validation, { trainingConfig: loaded.trainingConfig });
              const greedy = await greedySoup(loaded.problem, data.validation, task);
              const uniform = (await uniformSoupRow(loaded.problem, task, data)).candidate;
              const base = await evaluateSoups(loaded.problem, data.test, { task, uniform });
              const bestVal = await bestSingleOnValidation(loaded, data);
              for (const granularity of ["model", "layer"] as const) {
                for (const [name, config] of CONFIGS) {
                  const stepsPerEpoch = Math.ceil(data.learn.x.shape[0]! / D.batchSize);
                  const options: TfjsLearnOptions = {
                    ...config,
                    ...(config.maxSteps === -1
                      ? { maxSteps: 10 * stepsPerEpoch, evaluateEvery: stepsPerEpoch, patience: 3 * stepsPerEpoch }
                      : {}),
                  };
                  const started = performance.now();
                  const result = await learnOnTfjs(loaded.problem, data.learn, data.validation, {
                    ...options,
                    granularity,
                    seed,
                    trainingConfig: loaded.trainingConfig,
                    ...(config.compareCandidates === false
                      ? {}
                      : {
                          candidates: [
                            { name: "greedy soup", coefficients: greedy.mix.coefficients.map((c) => c[0]!) },
                          ],
                        }),
                  });
                  const seconds = (performance.now() - started) / 1000;
                  const evaluation = await evaluateSoups(loaded.problem, data.test, {
                    task,
                    uniform,
                    merged: {
                      mix: { coefficients: result.coefficients, groups: result.groups },
                      ...(result.batchNormStatistics ? { statistics: result.batchNormStatistics } : {}),
                    },
                  });
                  results.push({
                    family,
                    rows,
                    granularity,
                    config: name,
                    seed,
                    uniform: base.uniform.metric,
                    bestSingleVal: base.ingredients[bestVal]!.metric,
                    bestSingleTest: Math.max(...base.ingredients.map((s) => s.metric)),
                    learned: evaluation.merged!.metric,
                    learnedLoss: evaluation.merged!.loss,
                    uniformLoss: base.uniform.loss,
                    steps: result.steps,
                    kept: result.kept,
                    seconds,
                  });
                  process.stderr.write(
                    `${family} ${rows} ${granularity} ${name} seed ${seed}: ${(100 * evaluation.merged!.metric).toFixed(2)} % (${result.steps} steps, kept ${result.kept})\n`,
                  );
                }
              }
            } finally {
              disposeJobData(data);
            }
          }
        }
      } finally {
        disposeProblem(loaded);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  console.log(render(results, backend));
}

async function bestSingleOnValidation(
  loaded: Awaited<ReturnType<typeof loadProblem>>,
  data: Awaited<ReturnType<typeof loadJobData>>,
): Promise<number> {
  const n = loaded.problem.ingredients.length;
  const v = await evaluateSoups(loaded.problem, data.validation, {
    trainingConfig: loaded.trainingConfig,
    uniform: { mix: uniformMix(n) },
  });
  return v.ingredients.reduce((b, s, i) => (s.loss < v.ingredients[b]!.loss ? i : b), 0);
}

const pct = (v: number) => `${(100 * v).toFixed(2)}`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function render(results: Row[], backend: string): string {
  const out: string[] = [
    `Backend ${backend}. Test accuracy (%), mean over split seeds ${SEEDS.join(", ")} (60/20/20 splits of the rows); in brackets the mean Adam steps run. ` +
      `"best single (val)": the ingredient with the lowest validation loss; "best single (test)": the best on test (an oracle).`,
    "",
  ];
  const groups = [...new Set(results.map((r) => `${r.family}|${r.rows}|${r.granularity}`))];
  out.push(
    "| family | rows | granularity | uniform | best single (val) | best single (test) | " +
      CONFIGS.map(([n]) => n).join(" | ") +
      " |",
  );
  out.push("|" + " --- |".repeat(6 + CONFIGS.length));
  for (const g of groups) {
    const [family, rows, granularity] = g.split("|");
    const rs = results.filter((r) => `${r.family}|${r.rows}|${r.granularity}` === g);
    const first = rs.filter((r) => r.config === CONFIGS[0]![0]);
    const cells = CONFIGS.map(([n]) => {
      const c = rs.filter((r) => r.config === n);
      return `${pct(mean(c.map((r) => r.learned)))} (${Math.round(mean(c.map((r) => r.steps)))})`;
    });
    out.push(
      `| ${family} | ${rows} | ${granularity} | ${pct(mean(first.map((r) => r.uniform)))} | ${pct(mean(first.map((r) => r.bestSingleVal)))} | ${pct(mean(first.map((r) => r.bestSingleTest)))} | ${cells.join(" | ")} |`,
    );
  }
  out.push("", "Per number of rows, over every family, granularity and seed:", "");
  out.push(
    "| config | rows | test accuracy | test loss | below best single (val) | not above uniform | steps | seconds | kept a candidate |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const rows of [...new Set(results.map((r) => r.rows))]) {
    for (const [n] of CONFIGS) {
      const c = results.filter((r) => r.config === n && r.rows === rows);
      out.push(
        `| ${n} | ${rows} | ${pct(mean(c.map((r) => r.learned)))} | ${mean(c.map((r) => r.learnedLoss)).toFixed(4)} | ` +
          `${c.filter((r) => r.learned < r.bestSingleVal).length} of ${c.length} | ${c.filter((r) => r.learned <= r.uniform).length} of ${c.length} | ` +
          `${Math.round(mean(c.map((r) => r.steps)))} | ${mean(c.map((r) => r.seconds)).toFixed(2)} | ${c.filter((r) => r.kept !== "learned").length} of ${c.length} |`,
      );
    }
  }
  return out.join("\n");
}

await main();
