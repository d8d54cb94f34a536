/**
 * Makes test/fixtures/real-families: model families shaped like the ones people publish (see its README.md):
 * k-fold classifiers trained from scratch on overlapping rows of an imbalanced binary table, with
 * BatchNormalization and Dropout and a custom focal loss, as 2-way softmax and 1-unit sigmoid models, each fold
 * in Keras 2 (.h5) and Keras 3 (.keras); and weights-only epoch checkpoints of one run with the full model beside
 * them. Every setting is fixed here, before any result was seen.
 *
 *   node --import tsx scripts/make-real-families.ts
 *
 * Deterministic: the table comes from a seeded generator, initialisers are seeded, the batch order is a seeded
 * shuffle, and the tfjs cpu backend runs everything. Dropout masks come from Math.random inside tfjs, so this
 * script replaces Math.random with a seeded generator before training.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { mulberry32, shuffleInPlace } from "../src/core/random.js";
import {
  type LayerSpec,
  type LayerWeights,
  type SequentialSpec,
  writeKeras2Model,
  writeKeras2Weights,
  writeKeras3Model,
} from "./keras-files.js";

const OUT = fileURLToPath(new URL("../test/fixtures/real-families/", import.meta.url));

export const TABLE = { seed: 7, rows: 800, testRows: 300, features: 12, positiveShare: 0.15 };
const FOLDS = 4;
const TRAIN = { epochs: 40, batch: 32, learningRate: 0.01 };
const FOCAL = { gamma: 2, alpha: 0.25 };
const CHECKPOINTS = { initSeed: 900, orderSeed: 901, epochs: 10, kept: [7, 8, 9, 10] };
const LOSS_NAME = "focal_loss_fixed";

type Variant = "softmax" | "sigmoid";

function layersOf(variant: Variant): LayerSpec[] {
  return [
    { kind: "dense", name: "dense", units: 32, activation: "relu" },
    { kind: "batchnorm", name: "batch_normalization", epsilon: 0.001, momentum: 0.99 },
    { kind: "dropout", name: "dropout", rate: 0.3 },
    { kind: "dense", name: "dense_1", units: 16, activation: "relu" },
    { kind: "batchnorm", name: "batch_normalization_1", epsilon: 0.001, momentum: 0.99 },
    { kind: "dropout", name: "dropout_1", rate: 0.2 },
    variant === "softmax"
      ? { kind: "dense", name: "dense_2", units: 2, activation: "softmax" }
      : { kind: "dense", name: "dense_2", units: 1, activation: "sigmoid" },
  ];
}

const specOf = (variant: Variant): SequentialSpec => ({
  inputs: TABLE.features,
  layers: layersOf(variant),
  loss: LOSS_NAME,
});

interface Table {
  x: number[][];
  y: number[];
}

/**
 * The binary table: 12 numeric features (correlated Gaussians, 6 of them carrying signal, some non-linear), and
 * a label that is 1 for the top 15 % of a noisy score: a real signal that no model learns perfectly.
 */
function makeTable(): { table: Table; test: Table } {
  const random = mulberry32(TABLE.seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const n = TABLE.rows + TABLE.testRows;
  const x: number[][] = [];
  const score: number[] = [];
  for (let i = 0; i < n; i++) {
    const f = Array.from({ length: TABLE.features }, normal);
    f[3] = 0.6 * f[0]! + 0.8 * f[3]!;
    f[7] = 0.5 * f[1]! + 0.866 * f[7]!;
    x.push(f.map((v) => Math.round(v * 1e3) / 1e3));
    const [a, b, c, d, e, g] = f as [number, number, number, number, number, number];
    score.push(1.2 * a - 0.9 * b + 0.8 * c * d + 0.6 * e * e - 0.7 * Math.abs(g) + 0.9 * normal());
  }
  const threshold = [...score].sort((p, q) => q - p)[Math.round(n * TABLE.positiveShare)]!;
  const y = score.map((s) => (s > threshold ? 1 : 0));
  return {
    table: { x: x.slice(0, TABLE.rows), y: y.slice(0, TABLE.rows) },
    test: { x: x.slice(TABLE.rows), y: y.slice(TABLE.rows) },
  };
}

function csv(table: Table): string {
  const header = [...Array.from({ length: TABLE.features }, (_, j) => `f${String(j + 1).padStart(2, "0")}`), "label"];
  return [header, ...table.x.map((row, i) => [...row.map((v) => v.toFixed(3)), String(table.y[i])])]
    .map((r) => r.join(","))
    .join("\n")
    .concat("\n");
}

function buildModel(variant: Variant, initSeed: number): tf.Sequential {
  const model = tf.sequential({ name: "sequential" });
  let seed = initSeed;
  for (const [i, layer] of layersOf(variant).entries()) {
    const input = i === 0 ? { inputShape: [TABLE.features] } : {};
    if (layer.kind === "dense")
      model.add(
        tf.layers.dense({
          name: layer.name,
          units: layer.units,
          activation: layer.activation,
          kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }),
          ...input,
        }),
      );
    else if (layer.kind === "batchnorm")
      model.add(tf.layers.batchNormalization({ name: layer.name, epsilon: layer.epsilon, momentum: layer.momentum }));
    else model.add(tf.layers.dropout({ name: layer.name, rate: layer.rate }));
  }
  return model;
}

/** The focal loss of Lin et al. (γ 2, α 0.25 on the positive class), as the widespread `focal_loss_fixed` snippet. */
function focalLoss(variant: Variant) {
  return (yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor =>
    tf.tidy(() => {
      const p = yPred.clipByValue(1e-7, 1 - 1e-7);
      const positive = variant === "softmax" ? yTrue.slice([0, 1], [-1, 1]) : yTrue;
      const pPositive = variant === "softmax" ? p.slice([0, 1], [-1, 1]) : p;
      const pt = tf.where(positive.equal(1), pPositive, tf.sub(1, pPositive));
      const alpha = tf.where(positive.equal(1), tf.fill(pt.shape, FOCAL.alpha), tf.fill(pt.shape, 1 - FOCAL.alpha));
      return alpha
        .mul(tf.pow(tf.sub(1, pt), FOCAL.gamma))
        .mul(pt.log())
        .neg()
        .mean();
    });
}

async function train(
  model: tf.Sequential,
  variant: Variant,
  table: Table,
  rows: number[],
  epochs: number,
  orderSeed: number,
  onEpoch?: (epoch: number) => Promise<void>,
): Promise<void> {
  model.compile({ optimizer: tf.train.adam(TRAIN.learningRate), loss: focalLoss(variant) });
  const random = mulberry32(orderSeed);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const order = [...rows];
    shuffleInPlace(order, random);
    const x = tf.tensor2d(order.map((r) => table.x[r]!));
    const labels = order.map((r) => table.y[r]!);
    const y =
      variant === "softmax"
        ? tf.oneHot(tf.tensor1d(labels, "int32"), 2).toFloat()
        : tf.tensor2d(labels, [labels.length, 1]);
    await model.fit(x, y, { epochs: 1, batchSize: TRAIN.batch, shuffle: false, verbose: 0 });
    tf.dispose([x, y]);
    await onEpoch?.(epoch);
  }
}

function weightsOf(model: tf.Sequential): LayerWeights {
  const out: LayerWeights = new Map();
  for (const layer of model.layers) {
    const arrays = layer.getWeights().map((w) => ({ shape: w.shape, values: w.dataSync() as Float32Array }));
    if (arrays.length > 0) out.set(layer.name, arrays);
  }
  return out;
}

/** Cross-entropy and accuracy of the model on the test rows (positive class probability ≥ 0.5 is class 1). */
function score(
  model: tf.Sequential,
  variant: Variant,
  test: Table,
): { loss: number; accuracy: number; positivesPredicted: number } {
  return tf.tidy(() => {
    const out = (model.predict(tf.tensor2d(test.x)) as tf.Tensor).arraySync() as number[][];
    let loss = 0;
    let right = 0;
    let positives = 0;
    out.forEach((row, i) => {
      const p1 = variant === "softmax" ? row[1]! : row[0]!;
      const predicted = variant === "softmax" ? (row[1]! > row[0]! ? 1 : 0) : p1 >= 0.5 ? 1 : 0;
      const label = test.y[i]!;
      loss -= Math.log(Math.max(label === 1 ? p1 : 1 - p1, 1e-7));
      right += predicted === label ? 1 : 0;
      positives += predicted;
    });
    return { loss: loss / out.length, accuracy: right / out.length, positivesPredicted: positives };
  });
}

async function main(): Promise<void> {
  process.env.TZ = "UTC";
  Math.random = mulberry32(12345);
  await tf.setBackend("cpu");
  for (const folder of ["softmax", "sigmoid", "checkpoints"])
    await rm(join(OUT, folder), { recursive: true, force: true });
  await mkdir(OUT, { recursive: true });
  const { table, test } = makeTable();
  await writeFile(join(OUT, "table.csv"), csv(table));
  await writeFile(join(OUT, "test.csv"), csv(test));
  const positives = (t: Table) => t.y.filter((v) => v === 1).length;
  const summary: Record<string, unknown> = {
    table: { file: "table.csv", rows: TABLE.rows, positives: positives(table), seed: TABLE.seed },
    test: { file: "test.csv", rows: TABLE.testRows, positives: positives(test) },
    folds: FOLDS,
    training: { ...TRAIN, loss: LOSS_NAME, focal: FOCAL, backend: tf.getBackend() },
  };

  const order = Array.from({ length: TABLE.rows }, (_, i) => i);
  shuffleInPlace(order, mulberry32(TABLE.seed + 1));
  for (const [v, variant] of (["softmax", "sigmoid"] as const).entries()) {
    const models = [];
    for (let k = 0; k < FOLDS; k++) {
      const held = new Set(order.filter((_, i) => i % FOLDS === k));
      const rows = order.filter((r) => !held.has(r));
      const initSeed = 100 * (v + 1) + 10 * (k + 1);
      const model = buildModel(variant, initSeed);
      await train(model, variant, table, rows, TRAIN.epochs, initSeed + 1);
      const name = `model_fold_${k + 1}`;
      await writeKeras2Model(join(OUT, variant, "keras2", `${name}.h5`), specOf(variant), weightsOf(model));
      await writeKeras3Model(join(OUT, variant, "keras3", `${name}.keras`), specOf(variant), weightsOf(model));
      const s = score(model, variant, test);
      console.log(
        `${variant} fold ${k + 1}: ${rows.length} rows, init seed ${initSeed}: test loss ${s.loss.toFixed(4)}, accuracy ${s.accuracy.toFixed(4)}, ${s.positivesPredicted} positives predicted`,
      );
      models.push({ file: name, trainRows: rows.length, initSeed, orderSeed: initSeed + 1, test: s });
      model.dispose();
    }
    summary[variant] = models;
  }

  const run = buildModel("softmax", CHECKPOINTS.initSeed);
  const all = Array.from({ length: TABLE.rows }, (_, i) => i);
  const epochs: unknown[] = [];
  await train(run, "softmax", table, all, CHECKPOINTS.epochs, CHECKPOINTS.orderSeed, async (epoch) => {
    if (!CHECKPOINTS.kept.includes(epoch)) return;
    const name = `weights.${String(epoch).padStart(2, "0")}.h5`;
    await writeKeras2Weights(join(OUT, "checkpoints", name), specOf("softmax"), weightsOf(run));
    const s = score(run, "softmax", test);
    console.log(`checkpoint epoch ${epoch}: test loss ${s.loss.toFixed(4)}, accuracy ${s.accuracy.toFixed(4)}`);
    epochs.push({ file: name, epoch, test: s });
  });
  await writeKeras2Model(join(OUT, "checkpoints", "model.h5"), specOf("softmax"), weightsOf(run));
  summary.checkpoints = { ...CHECKPOINTS, rows: all.length, epochs };
  await writeFile(join(OUT, "training.json"), `${JSON.stringify(summary, null, 1)}\n`);
}

await main();
