/**
 * Makes the two model families of the data-aware benchmark (seeded; every setting fixed before any result was seen):
 *
 * - multi-task: one base pre-trained on all ten digits, then five fine-tunes, each on the rows of four classes only
 *   ({0,1,2,3}, {2,3,4,5}, {4,5,6,7}, {6,7,8,9}, {8,9,0,1}: every class in two subsets) — the case RegMean and
 *   Fisher were designed for;
 * - mixed quality: five fine-tunes of the same base on all classes, two good, one on 40 % wrong labels, one with a
 *   learning rate ten times too high, one stopped after one epoch.
 *
 * Data: `samples/digits/ingredients-train.csv.gz` (898 rows) trains every model; the merges are made and judged
 * on `samples/digits/soup.csv.gz` (899 rows, no row in common; see samples/digits/README.md). Models are Dense
 * 64-32-10 (relu, softmax) on pixels / 16, written as TF.js layers models to bench/out/data-aware/<family>/.
 *
 *   node --import tsx bench/data-aware/make-families.ts
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import type { Dataset } from "../../src/core/data/dataset.js";
import { loadDataset } from "../../src/core/data/load.js";
import { subsetDataset } from "../../src/core/data/split.js";
import { mulberry32, shuffleInPlace } from "../../src/core/random.js";
import { saveModelJson } from "../../scripts/digits-family.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const OUT = join(ROOT, "bench/out/data-aware");
const PIXEL_SCALE = 1 / 16;
const BATCH = 32;

const PRETRAIN = { seed: 1, fraction: 0.4, epochs: 3, learningRate: 0.01 };
const MULTI_TASK = [
  [0, 1, 2, 3],
  [2, 3, 4, 5],
  [4, 5, 6, 7],
  [6, 7, 8, 9],
  [8, 9, 0, 1],
].map((classes, i) => ({
  name: `classes-${classes.join("")}`,
  classes,
  seed: 31 + i,
  epochs: 10,
  learningRate: 0.005,
  noise: 0,
}));
const MIXED_QUALITY = [
  { name: "good-a", seed: 41, fraction: 0.7, epochs: 10, learningRate: 0.005, noise: 0 },
  { name: "good-b", seed: 42, fraction: 0.7, epochs: 10, learningRate: 0.005, noise: 0 },
  { name: "noisy-labels", seed: 43, fraction: 0.7, epochs: 10, learningRate: 0.005, noise: 0.4 },
  { name: "lr-too-high", seed: 44, fraction: 0.7, epochs: 10, learningRate: 0.05, noise: 0 },
  { name: "one-epoch", seed: 45, fraction: 0.7, epochs: 1, learningRate: 0.001, noise: 0 },
];

function buildModel(initSeed: number): tf.Sequential {
  const model = tf.sequential({ name: "digits_mlp" });
  model.add(
    tf.layers.dense({
      name: "hidden1",
      units: 64,
      activation: "relu",
      inputShape: [64],
      kernelInitializer: tf.initializers.glorotUniform({ seed: initSeed }),
    }),
  );
  model.add(
    tf.layers.dense({
      name: "hidden2",
      units: 32,
      activation: "relu",
      kernelInitializer: tf.initializers.glorotUniform({ seed: initSeed + 1 }),
    }),
  );
  model.add(
    tf.layers.dense({
      name: "output",
      units: 10,
      activation: "softmax",
      kernelInitializer: tf.initializers.glorotUniform({ seed: initSeed + 2 }),
    }),
  );
  return model;
}

function shuffledRows(n: number, seed: number): number[] {
  const rows = Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(rows, mulberry32(seed));
  return rows;
}

/** Adam on sparse categorical cross-entropy, seeded batch order. */
async function train(
  model: tf.LayersModel,
  data: Dataset,
  epochs: number,
  learningRate: number,
  seed: number,
): Promise<void> {
  model.compile({ optimizer: tf.train.adam(learningRate), loss: "sparseCategoricalCrossentropy" });
  const random = mulberry32(seed);
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = Array.from({ length: data.xShape[0]! }, (_, i) => i);
    shuffleInPlace(order, random);
    const shuffled = subsetDataset(data, order);
    const x = tf.tensor2d(shuffled.x, [order.length, 64]).mul(PIXEL_SCALE);
    const y = tf.tensor1d(Float32Array.from(shuffled.y!));
    await model.fit(x, y, { epochs: 1, batchSize: BATCH, shuffle: false, verbose: 0 });
    tf.dispose([x, y]);
  }
}

/** A copy of the dataset where a seeded fraction of the labels is replaced by a random other class. */
function withNoisyLabels(data: Dataset, fraction: number, seed: number): Dataset {
  if (fraction === 0) return data;
  const random = mulberry32(seed);
  const y = Int32Array.from(data.y!, (label) =>
    random() < fraction ? (label + 1 + Math.floor(random() * 9)) % 10 : label,
  );
  return { ...data, y };
}

async function save(model: tf.LayersModel, folder: string): Promise<string> {
  await saveModelJson(model, folder, { loss: "sparse_categorical_crossentropy", metrics: ["accuracy"] });
  return join(folder, "model.json");
}

function copyOf(model: tf.LayersModel): tf.Sequential {
  const copy = buildModel(0);
  copy.setWeights(model.getWeights().map((w) => w.clone()));
  return copy;
}

export interface Families {
  base: string;
  multiTask: string[];
  mixedQuality: string[];
}

export async function makeFamilies(): Promise<Families> {
  const train0 = await loadDataset(join(ROOT, "samples/digits/ingredients-train.csv.gz"));
  const n = train0.xShape[0]!;
  const base = buildModel(100);
  await train(
    base,
    subsetDataset(train0, shuffledRows(n, PRETRAIN.seed).slice(0, Math.round(n * PRETRAIN.fraction))),
    PRETRAIN.epochs,
    PRETRAIN.learningRate,
    PRETRAIN.seed,
  );
  const basePath = await save(base, join(OUT, "base"));
  const multiTask: string[] = [];
  for (const spec of MULTI_TASK) {
    const rows = Array.from({ length: n }, (_, i) => i).filter((i) => spec.classes.includes(train0.y![i]!));
    const model = copyOf(base);
    await train(model, subsetDataset(train0, rows), spec.epochs, spec.learningRate, spec.seed);
    multiTask.push(await save(model, join(OUT, "multi-task", spec.name)));
    model.dispose();
  }
  const mixedQuality: string[] = [];
  for (const spec of MIXED_QUALITY) {
    const rows = shuffledRows(n, spec.seed).slice(0, Math.round(n * spec.fraction));
    const model = copyOf(base);
    await train(
      model,
      withNoisyLabels(subsetDataset(train0, rows), spec.noise, spec.seed + 1000),
      spec.epochs,
      spec.learningRate,
      spec.seed,
    );
    mixedQuality.push(await save(model, join(OUT, "mixed-quality", spec.name)));
    model.dispose();
  }
  base.dispose();
  return { base: basePath, multiTask, mixedQuality };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await tf.setBackend("cpu");
  const families = await makeFamilies();
  process.stdout.write(`${JSON.stringify(families, null, 2)}\n`);
}
