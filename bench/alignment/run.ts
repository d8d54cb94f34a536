/**
 * Alignment benchmark: families of independently initialised digit classifiers (an MLP and a small CNN, three
 * seeds each, trained on the same rows), merged without alignment, after weight matching and after activation
 * matching — through the `model-soup` CLI as a user runs it — beside an independent NumPy/SciPy implementation of
 * weight matching (reference.py) run on the same models and the same test rows.
 *
 *   npm run build && node --import tsx bench/alignment/run.ts [--reuse | --repair-only]
 *
 * --reuse keeps models trained by an earlier run (bench/out/alignment/<family>/seed-*) instead of training again;
 * --repair-only runs just `merge --align --data` (the uniform soup of the aligned models, REPAIRed when that helps)
 * on them.
 * Everything is seeded (initialisers, batch orders, splits); training runs on the cpu backend. Outputs go to
 * bench/out/alignment/ (ignored by git).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { loadDataset, splitDataset, subsetDataset, type Dataset } from "../../src/core/data/index.js";
import { mulberry32, shuffleInPlace } from "../../src/core/random.js";
import { readManifest, openModel } from "../../src/core/formats/registry.js";
import { permutationSymmetry, weightMatching, type NamedTensor } from "../../src/core/align/index.js";
import type { SoupReport, AlignResult } from "../../src/protocol/worker.js";
import { bindWeights, buildModel, loadWeights } from "../../src/worker/runtime/index.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const SAMPLE = join(ROOT, "samples/digits");
const OUT = join(ROOT, "bench/out/alignment");
const CLI = join(ROOT, "dist/cli.cjs");
const SEEDS = [101, 202, 303];
const PIXEL_SCALE = 1 / 16;

interface Family {
  name: string;
  build(seed: number): tf.Sequential;
  epochs: number;
  learningRate: number;
  /** Input shape of one sample. */
  shape: number[];
  /** Folds the 1/16 pixel scale into the first (linear) layer so the saved model reads raw pixels. */
  first: string;
}

const init = (seed: number) => tf.initializers.glorotUniform({ seed });

const FAMILIES: Family[] = [
  {
    name: "mlp",
    shape: [64],
    first: "hidden1",
    epochs: 30,
    learningRate: 0.005,
    build: (seed) =>
      tf.sequential({
        layers: [
          tf.layers.dense({
            name: "hidden1",
            inputShape: [64],
            units: 128,
            activation: "relu",
            kernelInitializer: init(seed),
          }),
          tf.layers.dense({ name: "hidden2", units: 64, activation: "relu", kernelInitializer: init(seed + 1) }),
          tf.layers.dense({ name: "output", units: 10, activation: "softmax", kernelInitializer: init(seed + 2) }),
        ],
      }),
  },
  {
    name: "cnn",
    shape: [8, 8, 1],
    first: "conv1",
    epochs: 25,
    learningRate: 0.005,
    build: (seed) =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({
            name: "conv1",
            inputShape: [8, 8, 1],
            filters: 8,
            kernelSize: 3,
            activation: "relu",
            kernelInitializer: init(seed),
          }),
          tf.layers.conv2d({
            name: "conv2",
            filters: 16,
            kernelSize: 3,
            activation: "relu",
            kernelInitializer: init(seed + 1),
          }),
          tf.layers.flatten({ name: "flatten" }),
          tf.layers.dense({ name: "hidden", units: 32, activation: "relu", kernelInitializer: init(seed + 2) }),
          tf.layers.dense({ name: "output", units: 10, activation: "softmax", kernelInitializer: init(seed + 3) }),
        ],
      }),
  },
];

async function train(family: Family, seed: number, data: Dataset): Promise<tf.Sequential> {
  const model = family.build(seed);
  model.compile({ optimizer: tf.train.adam(family.learningRate), loss: "sparseCategoricalCrossentropy" });
  const random = mulberry32(seed);
  for (let epoch = 0; epoch < family.epochs; epoch++) {
    const order = Array.from({ length: data.xShape[0]! }, (_, i) => i);
    shuffleInPlace(order, random);
    const rows = subsetDataset(data, order);
    const x = tf.tensor(rows.x, [order.length, ...family.shape]).mul(PIXEL_SCALE);
    const y = tf.tensor1d(Float32Array.from(rows.y!));
    await model.fit(x, y, { epochs: 1, batchSize: 32, shuffle: false, verbose: 0 });
    tf.dispose([x, y]);
  }
  const first = model.getLayer(family.first);
  const [kernel, bias] = first.getWeights();
  first.setWeights([kernel!.mul(PIXEL_SCALE), bias!]);
  return model;
}

async function save(model: tf.LayersModel, folder: string): Promise<string> {
  await mkdir(folder, { recursive: true });
  const path = join(folder, "model.json");
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData as ArrayBuffer;
      await writeFile(join(folder, "weights.bin"), Buffer.from(data));
      await writeFile(
        path,
        JSON.stringify({
          format: "layers-model",
          modelTopology: artifacts.modelTopology,
          trainingConfig: { loss: "sparse_categorical_crossentropy", metrics: ["accuracy"] },
          weightsManifest: [{ paths: ["weights.bin"], weights: artifacts.weightSpecs }],
        }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
  );
  return path;
}

function cli<T>(args: string[]): T {
  const text = execFileSync(process.execPath, [CLI, ...args, "--json"], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 1 << 26,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return JSON.parse(text) as T;
}

async function tensorsOf(path: string): Promise<Map<string, NamedTensor>> {
  const file = await openModel(path);
  try {
    const out = new Map<string, NamedTensor>();
    for (const t of file.manifest.tensors)
      out.set(t.name, {
        shape: t.shape,
        data: (await file.readTensor(t.name, { float32: true })).data as Float32Array,
      });
    return out;
  } finally {
    await file.close();
  }
}

/** Test accuracy of a written model on the split's rows (raw pixels: the models fold the scale in). */
async function accuracyOf(path: string, test: Dataset, shape: number[]): Promise<number> {
  const file = await openModel(path);
  const model = await buildModel(file.manifest);
  try {
    await loadWeights(model, bindWeights(file.manifest, model), file);
    const rows = test.y!.length;
    const predicted = tf.tidy(() =>
      (model.predict(tf.tensor(test.x, [rows, ...shape])) as tf.Tensor).argMax(-1).dataSync(),
    );
    let right = 0;
    for (let i = 0; i < rows; i++) if (predicted[i] === test.y![i]) right++;
    return right / rows;
  } finally {
    model.dispose();
    await file.close();
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const pct = (v: number) => `${(v * 100).toFixed(2)} %`;

type RepairRow = Record<string, { kept: boolean; validationLoss: [number, number]; accuracy: number }>;

function formatRepair(rows: RepairRow): string {
  return Object.entries(rows)
    .map(
      ([m, r]) =>
        `${m} ${pct(r.accuracy)} (validation loss ${r.validationLoss[0].toFixed(4)} → ${r.validationLoss[1].toFixed(4)}, ${r.kept ? "kept" : "not kept"})`,
    )
    .join("; ");
}

async function main(): Promise<void> {
  await tf.setBackend("cpu");
  // --repair-only: only the merge --align --data rows, on the models of an earlier run (results-repair.json).
  const repairOnly = process.argv.includes("--repair-only");
  const reuse = repairOnly || process.argv.includes("--reuse");
  if (!reuse) await rm(OUT, { recursive: true, force: true });
  await mkdir(OUT, { recursive: true });
  const trainRows = await loadDataset(join(SAMPLE, "ingredients-train.csv.gz"));
  const soupData = join(SAMPLE, "soup.csv.gz");
  // The test rows every merge is judged on: the CLI's default split of soup.csv.gz (seed 0), handed to reference.py.
  const split = splitDataset(await loadDataset(soupData));
  await writeFile(
    join(OUT, "test.json"),
    JSON.stringify({ x: Array.from(split.test.x), y: Array.from(split.test.y!) }),
  );

  const results: Record<string, unknown> = {};
  const lines: string[] = [];
  for (const family of FAMILIES) {
    const started = performance.now();
    const paths: string[] = [];
    for (const seed of SEEDS) {
      const folder = join(OUT, family.name, `seed-${seed}`);
      paths.push(
        reuse && existsSync(join(folder, "model.json"))
          ? join(folder, "model.json")
          : await save(await train(family, seed, trainRows), folder),
      );
    }
    const trainSeconds = (performance.now() - started) / 1000;
    const backend = family.name === "cnn" ? "cpu" : "wasm";
    const data = ["--data", soupData, "--backend", backend];
    // merge --align with labelled data: the uniform soup of the aligned models, REPAIRed when that lowers the
    // validation loss; its test accuracy measured here on the written model.
    const repaired: RepairRow = {};
    for (const method of ["weight", "activation"]) {
      const out = join(OUT, family.name, `merge-${method}`, "model.json");
      const merged = cli<AlignResult>(["merge", ...paths, ...data, "--align", method, "--out", out]);
      const r = merged.alignment.repair!;
      repaired[method] = {
        kept: r.kept,
        validationLoss: [r.validation.before.loss, r.validation.after.loss],
        accuracy: await accuracyOf(out, split.test, family.shape),
      };
    }
    if (repairOnly) {
      results[family.name] = { repair: repaired, backend };
      lines.push(`${family.name}: uniform + REPAIR (merge --align --data): ${formatRepair(repaired)}`);
      continue;
    }
    const plain = cli<SoupReport>(["learn", ...paths, ...data]);
    const byWeight = cli<SoupReport>(["learn", ...paths, ...data, "--align", "weight"]);
    const byActivation = cli<SoupReport>([
      "learn",
      ...paths,
      ...data,
      "--align",
      "activation",
      "--out",
      join(OUT, family.name, "aligned-learned", "model.json"),
    ]);
    // The same reference as the CLI picked, for the independent implementation.
    const reference = paths.indexOf(byWeight.alignment!.reference);

    // Weight matching alone, in process: our implementation's time beside SciPy's (reference.py times its own).
    const plan = permutationSymmetry(await readManifest(paths[0]!));
    const tensors = await Promise.all(paths.map(tensorsOf));
    const times: number[] = [];
    const ourPermutations: Record<string, number[]>[] = [];
    for (let run = 0; run < 5; run++) {
      const t0 = performance.now();
      ourPermutations.length = 0;
      tensors.forEach((t, i) =>
        ourPermutations.push(i === reference ? {} : weightMatching(plan, tensors[reference]!, t).permutations),
      );
      times.push(performance.now() - t0);
    }
    await writeFile(join(OUT, family.name, "ours.json"), JSON.stringify({ reference, permutations: ourPermutations }));
    const python = JSON.parse(
      execFileSync(
        "/usr/bin/python3",
        [
          join(ROOT, "bench/alignment/reference.py"),
          family.name,
          String(reference),
          join(OUT, "test.json"),
          join(OUT, family.name, "ours.json"),
          ...paths,
        ],
        {
          encoding: "utf8",
          maxBuffer: 1 << 26,
        },
      ),
    ) as {
      uniform: number;
      alignedUniform: number;
      seconds: number;
      permutations: Record<string, number[]>[];
      objectives: Array<{ scipy: number; ours: number; unaligned: number } | null>;
    };
    // Agreement of the two implementations' permutations (the same optimum is expected; ties may differ).
    let same = 0;
    let total = 0;
    python.permutations.forEach((perms, i) => {
      for (const [layer, perm] of Object.entries(perms)) {
        const ours = ourPermutations[i]![layer] ?? perm.map((_, j) => j);
        perm.forEach((p, j) => {
          total++;
          if (ours[j] === p) same++;
        });
      }
    });
    const best = Math.max(...plain.metrics.ingredients.map((m) => m.metric));
    const row = {
      ingredients: plain.metrics.ingredients.map((m) => m.metric),
      best,
      ensemble: plain.metrics.ensemble.metric,
      uniform: plain.metrics.uniform.metric,
      learned: plain.metrics.merged.metric,
      weightUniform: byWeight.metrics.alignedUniform!.metric,
      weightLearned: byWeight.metrics.merged.metric,
      activationUniform: byActivation.metrics.alignedUniform!.metric,
      activationLearned: byActivation.metrics.merged.metric,
      repair: repaired,
      scipyUniformUnaligned: python.uniform,
      scipyWeightUniform: python.alignedUniform,
      barrier: {
        before: Math.max(...byWeight.alignment!.pairs.map((p) => p.barrierBefore!)),
        weight: Math.max(...byWeight.alignment!.pairs.map((p) => p.barrierAfter!)),
        activation: Math.max(...byActivation.alignment!.pairs.map((p) => p.barrierAfter!)),
      },
      cosine: {
        before: Math.max(...byWeight.alignment!.pairs.map((p) => p.cosineBefore)),
        weight: Math.max(...byWeight.alignment!.pairs.map((p) => p.cosineAfter)),
      },
      weightMatchingMs: { ours: median(times), scipy: python.seconds * 1000 },
      permutationAgreement: total === 0 ? 1 : same / total,
      objectives: python.objectives.filter((o) => o !== null),
      trainSeconds,
      backend,
    };
    results[family.name] = row;
    lines.push(
      `${family.name}: ingredients ${row.ingredients.map(pct).join(", ")} (best ${pct(best)}), ensemble ${pct(row.ensemble)}`,
      `  uniform: unaligned ${pct(row.uniform)}, weight matching ${pct(row.weightUniform)}, activation matching ${pct(row.activationUniform)}; SciPy weight matching ${pct(row.scipyWeightUniform)} (SciPy unaligned ${pct(row.scipyUniformUnaligned)})`,
      `  uniform + REPAIR (merge --align --data): ${formatRepair(repaired)}`,
      `  learned: unaligned ${pct(row.learned)}, weight matching ${pct(row.weightLearned)}, activation matching ${pct(row.activationLearned)}`,
      `  largest midpoint barrier (validation loss): ${row.barrier.before.toFixed(3)} → weight ${row.barrier.weight.toFixed(3)}, activation ${row.barrier.activation.toFixed(3)}; largest cosine ${row.cosine.before.toFixed(3)} → ${row.cosine.weight.toFixed(3)}`,
      `  weight matching of ${SEEDS.length - 1} models: ours ${row.weightMatchingMs.ours.toFixed(1)} ms (median of 5), SciPy ${row.weightMatchingMs.scipy.toFixed(1)} ms; permutations agree on ${pct(row.permutationAgreement)} of units`,
      `  matching objective Σ⟨W_ref, P(W)⟩ per aligned model (unaligned → SciPy / ours): ${row.objectives.map((o) => `${o!.unaligned.toFixed(2)} → ${o!.scipy.toFixed(2)} / ${o!.ours.toFixed(2)}`).join("; ")}`,
    );
  }
  await writeFile(
    join(OUT, repairOnly ? "results-repair.json" : "results.json"),
    `${JSON.stringify(results, null, 2)}\n`,
  );
  process.stdout.write(`${lines.join("\n")}\n`);
}

await main();
