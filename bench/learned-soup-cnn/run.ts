// Benchmark (issue 11): learned soup of five small CNNs (Conv2D + BatchNormalization + pooling + Dense, 32×32×3
// inputs) against a PyTorch reference in the same run. Seeded from end to end: the data is generated here, the
// ingredients are trained by reference.py (a base model, then five fine-tunes), and both sides learn the
// coefficients from the same rows, the same weights and the same mini-batches (Model Soup's seeded batch order).
// Writes the section between the learned-soup-cnn markers of BENCHMARKS.md.
// The PyTorch engine (ours: TorchEngine driven by the one learner, learnCoefficients) runs the same CNN as a
// torch.nn.Module (torch_model.py) on the same weights, rows and mini-batches, beside the plain PyTorch reference at
// the same thread count (1 and 2), and with two data-parallel ranks (nproc 2, one thread each) beside one.
// Run: node --import tsx bench/learned-soup-cnn/run.ts [--backend cpu|wasm] [--repeats N] [--threads 1,2]
//      [--no-tfjs] [--no-write]
//      (needs Debian's python3-torch at /usr/bin/python3)
import * as tf from "@tensorflow/tfjs";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { mulberry32 } from "../../src/core/random.js";
import { selectBackend, type BackendName } from "../../src/worker/backend.js";
import { shuffledIndices } from "../../src/worker/learn/batches.js";
import { scoreModel } from "../../src/worker/learn/gradient.js";
import { learnOnTfjs, type TfjsLearnOptions } from "../../src/worker/engine/tfjs-learn.js";
import { resolveObjective } from "../../src/worker/learn/objective.js";
import type { SoupData, SoupProblem } from "../../src/worker/learn/problem.js";
import { writeBenchmarkSection } from "../benchmarks-md.js";
import { buildModel, CLASSES, HIDDEN, makeData, SIZE } from "./model.js";
import { startTorchEngine, type TorchRun } from "./torch-engine-row.js";
import { findPythonWithTorch } from "../../src/core/python/find-python.js";
import { median } from "../stats.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const PYTHON = "/usr/bin/python3";
const ROWS = Number(option("rows", "256"));
const SIZES = { train: 2000, learn: ROWS, val: ROWS, test: ROWS };
const EPOCHS = 5;
const BATCH = 64;
/** The reference's final validation loss counts as reached within this relative margin (float32 kernels differ in the last bits). */
const TARGET_TOLERANCE = 1e-3;

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

interface ReferenceRun {
  total: number;
  reached: number;
  step: number;
  val_loss: number;
  test_loss: number;
  test_metric: number;
  steps: number;
  /** Seconds of the start soup's validation check (inside `reached` and `total`). */
  start_check: number;
}

interface Reference {
  torch: string;
  threads: number;
  model: ReferenceRun;
  layer: ReferenceRun;
}

interface Ours {
  reached?: number;
  total: number;
  step: number;
  steps: number;
  valLoss: number;
  testLoss: number;
  testMetric: number;
}

async function main(): Promise<void> {
  const backend = option("backend", "cpu") as BackendName;
  const repeats = Number(option("repeats", "3"));
  const warmUp = option("warm-up", "yes") !== "no";
  const chosen = await selectBackend(backend);
  const data = makeData(11, SIZES);
  const exchange = await mkdtemp(join(tmpdir(), "learned-soup-cnn-"));
  try {
    const arrays: Record<string, { file: string; dtype: string; shape: number[] }> = {};
    const put = async (name: string, values: Float32Array | Int32Array, shape: number[]) => {
      await writeFile(join(exchange, `${name}.bin`), values);
      arrays[name] = { file: `${name}.bin`, dtype: values instanceof Int32Array ? "int32" : "float32", shape };
    };
    for (const [name, d] of Object.entries(data)) {
      await put(`x_${name}`, d.x, [d.y.length, SIZE, SIZE, 3]);
      await put(`y_${name}`, d.y, [d.y.length]);
    }
    // The batch order of each epoch as Model Soup's Adam draws it (seed 0), for the reference to follow.
    const random = mulberry32(0);
    for (let e = 0; e < EPOCHS; e++) await put(`order_${e}`, shuffledIndices(SIZES.learn, random), [SIZES.learn]);
    const model = buildModel();
    const variables = model.layers.flatMap((l) => l.weights);
    const layerOf = model.layers.flatMap((l) => l.weights.map(() => l.name));
    const shapes = variables.map((v) => v.read().shape);
    await writeFile(
      join(exchange, "meta.json"),
      JSON.stringify({ arrays, ingredients: 5, layers: layerOf, shapes, epochs: EPOCHS, batch: BATCH }),
    );
    console.log("making the ingredients (PyTorch) ...");
    execFileSync(PYTHON, [join(ROOT, "bench/learned-soup-cnn/reference.py"), "make", exchange], { encoding: "utf8" });
    const ingredients: Float32Array[][] = [];
    for (let i = 0; i < 5; i++) {
      const weights: Float32Array[] = [];
      for (let j = 0; j < variables.length; j++) {
        const bytes = await readFile(join(exchange, `w${i}_${j}.bin`));
        weights.push(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
      }
      ingredients.push(weights);
    }
    const parameters = variables.reduce((n, v) => n + v.read().size, 0);
    const threadCounts = option("threads", "1,2").split(",").map(Number);
    // The reference runs right before the engine runs it is compared with (one granularity, one thread count), so
    // both see nearly the same load on this shared machine.
    const references: Record<number, Reference> = {};
    const runReference = (threads: number, granularity: string) => {
      console.log(`reference: PyTorch, ${threads} thread(s), ${granularity}, ${repeats} runs after a warm-up ...`);
      const answer = JSON.parse(
        execFileSync(PYTHON, [join(ROOT, "bench/learned-soup-cnn/reference.py"), "learn", exchange, String(repeats)], {
          encoding: "utf8",
          env: { ...process.env, TORCH_THREADS: String(threads), GRANULARITY: granularity },
        }),
      ) as Reference;
      references[threads] = { ...references[threads], ...answer };
      console.log(`  ${JSON.stringify(answer)}`);
    };

    const toData = (d: { x: Float32Array; y: Float32Array }): SoupData => ({
      x: tf.tensor4d(d.x, [d.y.length, SIZE, SIZE, 3]),
      y: tf.tensor1d(d.y),
    });
    const learn = toData(data.learn);
    const validation = toData(data.val);
    const test = toData(data.test);
    const problem: SoupProblem = { model, variables, layerOf, ingredients };
    const trainingConfig = { loss: "sparse_categorical_crossentropy" };
    const objective = resolveObjective(model, "supervised", learn, { trainingConfig });

    const runOurs = async (options: TfjsLearnOptions, target: number): Promise<Ours> => {
      let reached: number | undefined;
      const stepTimes: number[] = [];
      const start = performance.now();
      let last = start;
      const result = await learnOnTfjs(problem, learn, validation, {
        ...options,
        trainingConfig,
        reestimateBatchNorm: false,
        onProgress: (p) => {
          const now = performance.now();
          // Steps that ended an epoch include its validation pass; the per-step figure leaves them out, as the reference does.
          if (p.validationLoss === undefined || p.step % (SIZES.learn / BATCH) !== 0)
            stepTimes.push((now - last) / 1000);
          last = now;
          if (
            reached === undefined &&
            p.validationLoss !== undefined &&
            p.validationLoss <= target * (1 + TARGET_TOLERANCE)
          )
            reached = (now - start) / 1000;
        },
      });
      const total = (performance.now() - start) / 1000;
      const score = await scoreModel(model, objective, test, 256);
      return {
        reached,
        total,
        step: median(stepTimes),
        steps: result.steps,
        valLoss: result.validation!.loss,
        testLoss: score.loss,
        testMetric: score.metric!,
      };
    };

    console.log(`Model Soup on tfjs ${chosen.backend}, ${parameters} parameters ...`);
    // The uniform soup itself: the plain mean of the ingredients written into the model, scored on validation and test.
    variables.forEach((v, j) => {
      const mean = new Float32Array(ingredients[0]![j]!.length);
      for (const weights of ingredients)
        for (let k = 0; k < mean.length; k++) mean[k]! += weights[j]![k]! / ingredients.length;
      v.write(tf.tensor(mean, v.read().shape));
    });
    const uniform = {
      val: await scoreModel(model, objective, validation, 256),
      test: await scoreModel(model, objective, test, 256),
    };
    const rows: string[] = [];
    const notes: string[] = [];
    const granularities = ["model", "layer"] as const;
    const learnOptions = (granularity: (typeof granularities)[number]): TfjsLearnOptions => ({
      granularity,
      optimizer: "adam",
      learningRate: 0.05,
      schedule: "constant",
      maxSteps: EPOCHS * Math.ceil(SIZES.learn / BATCH),
      evaluateEvery: Math.ceil(SIZES.learn / BATCH),
      batchSize: BATCH,
      patience: 1000,
      compareCandidates: false,
      refit: false,
    });

    // The PyTorch engine: one engine per configuration (threads, ranks), both granularities on it.
    const python = await findPythonWithTorch({ python: PYTHON });
    const torchSplit = (d: { x: Float32Array; y: Float32Array }) => ({
      x: d.x,
      xShape: [d.y.length, SIZE, SIZE, 3],
      y: d.y,
      yShape: [d.y.length],
    });
    const splits = { learn: torchSplit(data.learn), validation: torchSplit(data.val), test: torchSplit(data.test) };
    const files = Array.from({ length: 5 }, (_, i) => join(exchange, `torch${i}.pt`));
    const nprocs = option("nproc", "2")
      .split(",")
      .map(Number)
      .filter((n) => n > 1);
    const configs = [
      ...threadCounts.map((threads) => ({ threads, nproc: 1 })),
      ...nprocs.map((nproc) => ({ threads: 1, nproc })),
    ];
    const engineRuns = new Map<string, Record<string, TorchRun[]>>();
    const configKey = (c: { threads: number; nproc: number }) => `${c.nproc}x${c.threads}`;
    for (const config of configs) {
      console.log(`PyTorch engine (ours): ${config.nproc} rank(s) × ${config.threads} thread(s) ...`);
      const { engine, run } = await startTorchEngine({ python, files, splits, ...config });
      const byGranularity: Record<string, TorchRun[]> = {};
      try {
        for (const granularity of granularities) {
          if (config.nproc === 1) runReference(config.threads, granularity);
          const target = (references[config.threads] ?? references[1]!)[granularity].val_loss;
          const go = () => run(learnOptions(granularity), target, TARGET_TOLERANCE, SIZES.learn / BATCH);
          if (warmUp) await go();
          const runs: TorchRun[] = [];
          for (let r = 0; r < repeats; r++) runs.push(await go());
          console.log(`  ${granularity}: ${JSON.stringify(runs.at(-1))}`);
          byGranularity[granularity] = runs;
        }
      } finally {
        await engine.dispose();
      }
      engineRuns.set(configKey(config), byGranularity);
    }

    const cells = (runs: Array<Ours | TorchRun>, ref: ReferenceRun | undefined, refStep?: number) => {
      const reachedAll = runs.every((r) => r.reached !== undefined);
      const reached = reachedAll ? median(runs.map((r) => r.reached!)) : undefined;
      const step = median(runs.map((r) => r.step));
      const last = runs.at(-1)!;
      const stepRatio = ref ? step / (refStep ?? ref.step) : undefined;
      const reachedRatio = ref && reached !== undefined ? reached / ref.reached : undefined;
      return {
        step,
        reached,
        stepRatio,
        reachedRatio,
        text: `${(1000 * step).toFixed(1)} | ${stepRatio === undefined ? "—" : stepRatio.toFixed(2)} | ${reached === undefined ? "not reached" : reached.toFixed(2)} | ${reachedRatio === undefined ? "—" : reachedRatio.toFixed(2)} | ${median(runs.map((r) => r.total)).toFixed(2)} | ${last.valLoss.toFixed(4)} | ${last.testLoss.toFixed(4)} | ${(100 * last.testMetric).toFixed(1)} %`,
      };
    };
    const verdict = (ratio: number | undefined, reachedRatio: number | undefined, limit: number) =>
      ratio !== undefined && reachedRatio !== undefined && ratio <= limit && reachedRatio <= limit ? "met" : "NOT met";

    for (const granularity of granularities) {
      for (const threads of threadCounts) {
        const ref = references[threads]![granularity];
        rows.push(
          `| ${granularity} | PyTorch ${references[threads]!.torch} (plain loop), ${threads} thread(s) | ${(1000 * ref.step).toFixed(1)} | 1.00 | ${ref.reached.toFixed(2)} | 1.00 | ${ref.total.toFixed(2)} | ${ref.val_loss.toFixed(4)} | ${ref.test_loss.toFixed(4)} | ${(100 * ref.test_metric).toFixed(1)} % |`,
        );
        const ours = cells(engineRuns.get(configKey({ threads, nproc: 1 }))![granularity]!, ref);
        rows.push(`| ${granularity} | PyTorch engine (ours), ${threads} thread(s) | ${ours.text} |`);
        const engineRunsHere = engineRuns.get(configKey({ threads, nproc: 1 }))![granularity]!;
        const inside = median(engineRunsHere.map((r) => r.inside));
        notes.push(
          `${granularity}, ${threads} thread(s): PyTorch engine / plain PyTorch: per step ${ours.stepRatio!.toFixed(2)}×, time to target ${ours.reachedRatio === undefined ? "— (not reached)" : `${ours.reachedRatio.toFixed(2)}×`} (target ≤ 1.2×: ${verdict(ours.stepRatio, ours.reachedRatio, 1.2)}); of the engine's ${(1000 * ours.step).toFixed(1)} ms step, ${(1000 * inside).toFixed(1)} ms inside engine.py's merge and gradient; the plain loop's check of the start soup took ${ref.start_check.toFixed(2)} s of its time to target (not counting it, as this bench did before 2026-12-07 while counting ours, the ratio would read ${ours.reached === undefined ? "—" : `${(ours.reached / (ref.reached - ref.start_check)).toFixed(2)}×`})`,
        );
      }
      const one = engineRuns.get(configKey({ threads: 1, nproc: 1 }));
      for (const nproc of nprocs) {
        const runs = engineRuns.get(configKey({ threads: 1, nproc }))![granularity]!;
        const ref1 = references[1]?.[granularity];
        const ranks = cells(runs, ref1);
        rows.push(`| ${granularity} | PyTorch engine (ours), --nproc ${nproc} × 1 thread | ${ranks.text} |`);
        if (one) {
          const base = cells(one[granularity]!, ref1);
          const coefficients = (r: TorchRun) => r.coefficients.flat();
          const a = coefficients(one[granularity]!.at(-1)!);
          const b = coefficients(runs.at(-1)!);
          const gap = Math.max(...a.map((v, k) => Math.abs(v - b[k]!)));
          notes.push(
            `${granularity}: --nproc ${nproc} (1 thread each) / --nproc 1 (1 thread): per step ${(ranks.step / base.step).toFixed(2)}×, time to target ${ranks.reached !== undefined && base.reached !== undefined ? `${(ranks.reached / base.reached).toFixed(2)}×` : "—"}; learned coefficients differ by at most ${gap.toExponential(1)}`,
          );
        }
      }
      if (!process.argv.includes("--no-tfjs")) {
        const reference = references[threadCounts[0]!]!;
        const ref = reference[granularity];
        const options = learnOptions(granularity);
        if (warmUp) await runOurs(options, ref.val_loss);
        const runs: Ours[] = [];
        for (let r = 0; r < repeats; r++) runs.push(await runOurs(options, ref.val_loss));
        console.log(`tfjs ${granularity}: ${JSON.stringify(runs.at(-1))}`);
        const ours = cells(runs, ref);
        rows.push(`| ${granularity} | Model Soup, tfjs ${chosen.backend} backend | ${ours.text} |`);
        notes.push(
          `${granularity}: tfjs ${chosen.backend} / plain PyTorch at ${reference.threads} thread(s): per step ${ours.stepRatio!.toFixed(1)}×, time to target ${ours.reachedRatio === undefined ? "— (not reached)" : `${ours.reachedRatio.toFixed(1)}×`} (target ≤ 1.5×: ${verdict(ours.stepRatio, ours.reachedRatio, 1.5)})`,
        );
      }
    }
    const section = [
      "## Learned soup of five CNNs vs PyTorch (issue 11)",
      "",
      `Generated by \`node --import tsx bench/learned-soup-cnn/run.ts ${process.argv.slice(2).join(" ")}\` on ${new Date().toISOString().slice(0, 10)}. ` +
        `Ten classes of generated 32×32×3 images (seeded sinusoid patterns, shifts, noise); the five ingredients are fine-tunes of one base CNN ` +
        `trained by the script's PyTorch side (3 × [Conv2D 3×3 → BatchNormalization → ReLU → MaxPooling2D], Dense ${HIDDEN}, Dense ${CLASSES}; ${parameters.toLocaleString("en")} parameters). ` +
        `Learn/validation/test ${SIZES.learn}/${SIZES.val}/${SIZES.test} rows; Adam(W) lr 0.05, ${EPOCHS} epochs, batch ${BATCH}, softmax coefficients from the uniform soup; ` +
        `both sides use the same weights, rows and mini-batches; BatchNormalization in inference mode with the merged statistics (no re-estimation). ` +
        `Per step = median time of a gradient step (merge, forward, backward, coefficient update; steps that ended an epoch, which include validation, left out). ` +
        `Time to target = learning-loop time until the validation loss first reaches the reference's final validation loss (within ${TARGET_TOLERANCE * 100} %); both sides make the same validation checks, counted on both: the start soup's (the learner scores it to keep the best soup of its path, the start included; the plain loop scores it too since 2026-12-07: before, it skipped it while ours was counted) and one after each epoch. ` +
        `The PyTorch engine rows run TorchEngine (engine.py in a child Python) through the one learner (learnCoefficients, the same options as the TF.js row) on the same CNN as a torch.nn.Module (torch_model.py) given as state dicts; each is compared with the plain PyTorch loop (reference.py: merge, forward, backward, AdamW in one process) at the same thread count, run right before it; the --nproc rows run that many engine ranks (torch.distributed, gloo) with one thread each, each rank taking its share of every batch. ` +
        `Medians of ${repeats} run(s)${warmUp ? " after a warm-up" : " (Model Soup without a warm-up run)"}. ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)} at the end (other work shares the cores). ` +
        `Uniform soup (the plain mean, scored directly): validation loss ${uniform.val.loss.toFixed(4)}, test loss ${uniform.test.loss.toFixed(4)}, test accuracy ${(100 * uniform.test.metric!).toFixed(1)} %.`,
      "",
      "| granularity | run | per step (ms) | ratio | time to target (s) | ratio | total (s) | final val loss | test loss | test accuracy |",
      "|---|---|---|---|---|---|---|---|---|---|",
      ...rows,
      "",
      ...notes.map((n) => `- ${n}.`),
      "- What sets the floor (measured by bench/learned-soup-cnn/profile.ts and kernels.ts on 2026-11-29, load average 2–4; docs/performance.md): tfjs-wasm's convolution kernels, on one thread (TF.js does not start wasm threads under Node: forcing them fails with ERR_WORKER_PATH). Of a ~110 ms step the convolutions take ~62 ms — filter gradients 33, input gradients 17 (5–6 of it the first layer's, which TF.js's fused Conv2D gradient computes although nothing needs it), forward 13 — then the max-pool gradients 13, the Dense products 11, the merge and the gradient identity's dot products 4, BatchNormalization's forward 3, the rest (BatchNormalization's gradient, bias sums, ReLU, loss, copies) ~15, TF.js dispatch ~5. Alone, tfjs-wasm runs these convolutions 3.5–5× (forward, input gradient) and 7–17× (filter gradient) slower than PyTorch at one thread, so the convolutions by themselves exceed 1.5 × PyTorch's whole step. Both sides ran on the shared machine, not at the same moment: the ratios move with the load.",
    ].join("\n");
    console.log(section);
    if (!process.argv.includes("--no-write")) await writeBenchmarkSection("learned-soup-cnn", section);
  } finally {
    await rm(exchange, { recursive: true, force: true });
  }
}

await main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
