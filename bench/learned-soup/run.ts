// Benchmark (issue 3): Model Soup's coefficient learning against a PyTorch reference of the model-soups learned-soup
// recipe, on the bundled digits ingredients and split. Prints, in one run, the median wall time each needs to
// reach the reference's final validation loss, and both final test metrics; writes the table into BENCHMARKS.md
// between the learned-soup markers.
// Run: node --import tsx bench/learned-soup/run.ts [--backend wasm|cpu] [--repeats N]
//      (needs Debian's python3-torch: apt-get install python3-torch)
import * as tf from "@tensorflow/tfjs";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadDataset, splitDataset, type Dataset } from "../../src/core/data/index.js";
import { selectBackend, type BackendName } from "../../src/worker/backend.js";
import { scoreModel } from "../../src/worker/learn/gradient.js";
import { learnCoefficients, type LearnOptions } from "../../src/worker/learn/learn.js";
import { resolveObjective } from "../../src/worker/learn/objective.js";
import type { SoupData, SoupProblem } from "../../src/worker/learn/problem.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const SAMPLE = join(ROOT, "samples/digits");
const MARK_START = "<!-- learned-soup -->";
const MARK_END = "<!-- /learned-soup -->";
const PYTHON = "/usr/bin/python3"; // Debian's interpreter, where python3-torch installs

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

async function loadLayersModel(dir: string): Promise<tf.LayersModel> {
  const json = JSON.parse(await readFile(join(dir, "model.json"), "utf8"));
  const weightSpecs = json.weightsManifest.flatMap((g: { weights: tf.io.WeightsManifestEntry[] }) => g.weights);
  const parts = await Promise.all(
    json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths).map((p: string) => readFile(join(dir, p))),
  );
  const bytes = Buffer.concat(parts);
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }));
}

function toData(d: Dataset): SoupData {
  return { x: tf.tensor(d.x, d.xShape), y: tf.tensor1d(Float32Array.from(d.y!)) };
}

interface Ours {
  reached?: number;
  total: number;
  valLoss: number;
  testLoss: number;
  testMetric: number;
  steps: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  const backend = option("backend", "wasm") as BackendName;
  const repeats = Number(option("repeats", "5"));
  const chosen = await selectBackend(backend);
  const dataset = await loadDataset(join(SAMPLE, "digits.csv.gz"));
  const split = splitDataset(dataset);
  const [learn, validation, test] = [split.learn, split.validation, split.test].map(toData) as [SoupData, SoupData, SoupData];

  const dirs = ["1", "2", "3", "4", "5"].map((i) => join(SAMPLE, `models/ingredient-${i}`)).filter((d) => existsSync(d));
  const models = await Promise.all(dirs.map(loadLayersModel));
  const executor = await loadLayersModel(dirs[0]!);
  const variables = executor.layers.flatMap((l) => l.weights);
  const layerOf = executor.layers.flatMap((l) => l.weights.map(() => l.name));
  const ingredients = models.map((m) =>
    executor.layers.flatMap((l) => m.getLayer(l.name).weights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array))),
  );
  const problem: SoupProblem = { model: executor, variables, layerOf, ingredients };

  // Hand the same weights and split to the reference.
  const exchange = await mkdtemp(join(tmpdir(), "learned-soup-bench-"));
  try {
    const arrays: Record<string, { file: string; dtype: string; shape: number[] }> = {};
    const put = async (name: string, values: Float32Array, shape: number[]) => {
      await writeFile(join(exchange, `${name}.bin`), values);
      arrays[name] = { file: `${name}.bin`, dtype: "float32", shape };
    };
    for (const [name, d] of [["learn", split.learn], ["val", split.validation], ["test", split.test]] as const) {
      await put(`x_${name}`, d.x, d.xShape);
      await put(`y_${name}`, Float32Array.from(d.y!), [d.xShape[0]!]);
    }
    for (let i = 0; i < ingredients.length; i++) {
      for (let j = 0; j < variables.length; j++) await put(`w${i}_${j}`, ingredients[i]![j]!, variables[j]!.read().shape);
    }
    const tensors = variables.map((v, j) => ({
      name: v.name,
      layer: layerOf[j],
      activation: (executor.getLayer(layerOf[j]!).getConfig() as { activation?: string }).activation,
    }));
    await writeFile(join(exchange, "meta.json"), JSON.stringify({ ingredients: ingredients.length, tensors, arrays }));
    console.log(`reference: PyTorch, ${repeats} runs per granularity after a warm-up ...`);
    const reference = JSON.parse(execFileSync(PYTHON, [join(ROOT, "bench/learned-soup/reference.py"), exchange, String(repeats)], { encoding: "utf8" }));

    const objective = resolveObjective(executor, "supervised", learn, { trainingConfig: { loss: "sparse_categorical_crossentropy" } });
    const runOurs = async (options: LearnOptions, target: number): Promise<Ours> => {
      let reached: number | undefined;
      const start = performance.now();
      const result = await learnCoefficients(problem, learn, validation, {
        ...options,
        trainingConfig: { loss: "sparse_categorical_crossentropy" },
        onProgress: (p) => {
          if (reached === undefined && p.validationLoss !== undefined && p.validationLoss <= target) {
            reached = (performance.now() - start) / 1000;
          }
        },
      });
      const total = (performance.now() - start) / 1000;
      const testScore = await scoreModel(executor, objective, test, 1024);
      return { reached, total, valLoss: result.validation!.loss, testLoss: testScore.loss, testMetric: testScore.metric!, steps: result.steps };
    };

    const rows: string[] = [];
    const uniform = await runOurs({ optimizer: "adam", epochs: 0 }, -1);
    for (const granularity of ["model", "layer"] as const) {
      const ref = reference[granularity];
      const configs: Array<[string, LearnOptions]> = [
        ["Adam lr 0.05, 5 epochs, batch 256 (the recipe)", { granularity, optimizer: "adam", learningRate: 0.05, epochs: 5, batchSize: 256, patience: 1000 }],
        ["L-BFGS, full batch", { granularity, optimizer: "lbfgs" }],
      ];
      rows.push(
        `| ${granularity} | PyTorch ${reference.torch} reference (AdamW lr 0.05, 5 epochs, batch 256) | ` +
          `${ref.reached.toFixed(3)} | 1.00 | ${ref.total.toFixed(3)} | ${ref.val_loss.toFixed(4)} | ${ref.test_loss.toFixed(4)} | ${(100 * ref.test_metric).toFixed(2)} % |`,
      );
      for (const [label, options] of configs) {
        await runOurs(options, ref.val_loss); // warm-up
        const runs: Ours[] = [];
        for (let r = 0; r < repeats; r++) runs.push(await runOurs(options, ref.val_loss));
        const reachedAll = runs.every((r) => r.reached !== undefined);
        const reached = reachedAll ? median(runs.map((r) => r.reached!)) : undefined;
        const last = runs[runs.length - 1]!;
        rows.push(
          `| ${granularity} | Model Soup ${chosen.backend}: ${label} | ${reached === undefined ? "not reached" : reached.toFixed(3)} | ` +
            `${reached === undefined ? "—" : (reached / ref.reached).toFixed(2)} | ${median(runs.map((r) => r.total)).toFixed(3)} | ` +
            `${last.valLoss.toFixed(4)} | ${last.testLoss.toFixed(4)} | ${(100 * last.testMetric).toFixed(2)} % |`,
        );
      }
    }

    const table = [
      `Digits sample (${ingredients.length} ingredients, learn/validation/test ${split.sizes.learn}/${split.sizes.validation}/${split.sizes.test}, ` +
        `split seed ${split.seed}); ${cpus().length} cores (load average ${loadavg()[0]!.toFixed(1)} at the end of the run); ` +
        `medians of ${repeats} runs after a warm-up; PyTorch threads: ${reference.threads}. ` +
        `"Time to target" = wall time of the learning loop until the validation loss first reaches the reference's final ` +
        `validation loss (the reference's own: the end of the first epoch at which it did). Uniform soup: validation loss ` +
        `${uniform.valLoss.toFixed(4)}, test ${(100 * uniform.testMetric).toFixed(2)} %.`,
      "",
      "| granularity | run | time to target (s) | ratio | total (s) | final val loss | test loss | test accuracy |",
      "|---|---|---|---|---|---|---|---|",
      ...rows,
      "",
      "Both sides learn only the coefficients, from the same uniform start, with one forward and backward pass per step " +
        "(Model Soup through the gradient identity of DESIGN.md, PyTorch through autograd of the merge); what separates " +
        "their step times is the wasm kernels against native PyTorch. The ingredients were fine-tuned on this learn split, " +
        "so the learn loss is small and validation loss can get worse as it is minimised: early stopping keeps the best " +
        "soup seen, the uniform start included. L-BFGS (full batch) is opt-in: it did not reach the target sooner here.",
    ].join("\n");
    console.log(table);
    await writeSection(table);
  } finally {
    await rm(exchange, { recursive: true, force: true });
  }
}

async function writeSection(table: string): Promise<void> {
  const path = join(ROOT, "BENCHMARKS.md");
  const section = `${MARK_START}\n## Learned soup: coefficient learning vs PyTorch\n\n` +
    `Generated by \`node --import tsx bench/learned-soup/run.ts\` on ${new Date().toISOString().slice(0, 10)}.\n\n${table}\n${MARK_END}`;
  const current = existsSync(path) ? await readFile(path, "utf8") : "# Benchmarks\n";
  const start = current.indexOf(MARK_START);
  const end = current.indexOf(MARK_END);
  const next =
    start >= 0 && end > start
      ? current.slice(0, start) + section + current.slice(end + MARK_END.length)
      : `${current.trimEnd()}\n\n${section}\n`;
  await writeFile(path, next);
}

await main();
