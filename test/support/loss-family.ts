/**
 * Small seeded families for the loss and label tests: MLPs on a 6-feature binary (or 3-class, or regression) table,
 * each saved as a TF.js model.json with the training_config a user's model would carry (a custom loss, the
 * categorical form, ...), and the table in the forms users store labels (class indices, one-hot, 0/1, strings).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { mulberry32 } from "../../src/core/random.js";
import { saveModelJson as saveLayersModel } from "../../scripts/digits-family.js";

export const FEATURES = 6;

export interface Table {
  x: Float32Array;
  /** Class indices (classification) or targets (regression). */
  y: Float32Array;
  n: number;
}

/** Rows with a class given by a fixed linear rule (a few labels flipped); regression: a linear target with noise. */
export function table(n: number, seed: number, kind: "binary" | "three" | "regression"): Table {
  const random = mulberry32(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const x = new Float32Array(n * FEATURES);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let f = 0; f < FEATURES; f++) {
      const v = gaussian();
      x[i * FEATURES + f] = v;
      s += v * (f % 2 === 0 ? 1 : -0.5);
    }
    if (kind === "regression") y[i] = 0.8 * s + 0.1 * gaussian();
    else if (kind === "binary") y[i] = s > 0.6 !== random() < 0.05 ? 1 : 0;
    else y[i] = s < -0.7 ? 0 : s < 0.7 ? 1 : 2;
  }
  return { x, y, n };
}

export type Head = "softmax2" | "softmax3" | "sigmoid1" | "linear1";

function network(seed: number, head: Head): tf.Sequential {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed * 10 + k });
  const model = tf.sequential({ name: "loss_mlp" });
  model.add(
    tf.layers.dense({
      name: "hidden",
      inputShape: [FEATURES],
      units: 12,
      activation: "relu",
      kernelInitializer: init(1),
    }),
  );
  const units = head === "softmax3" ? 3 : head === "softmax2" ? 2 : 1;
  const activation = head.startsWith("softmax") ? "softmax" : head === "sigmoid1" ? "sigmoid" : "linear";
  model.add(tf.layers.dense({ name: "out", units, activation, kernelInitializer: init(2) }));
  return model;
}

/** Trains a few epochs with the loss that fits the head (what the saved training loss says does not matter here). */
async function fit(model: tf.LayersModel, rows: Table, head: Head, epochs: number): Promise<void> {
  const loss = head.startsWith("softmax")
    ? "sparseCategoricalCrossentropy"
    : head === "sigmoid1"
      ? "binaryCrossentropy"
      : "meanSquaredError";
  model.compile({ optimizer: tf.train.adam(0.02), loss });
  const x = tf.tensor2d(rows.x, [rows.n, FEATURES]);
  const y = head === "sigmoid1" || head === "linear1" ? tf.tensor2d(rows.y, [rows.n, 1]) : tf.tensor1d(rows.y);
  await model.fit(x, y, { epochs, batchSize: 32, shuffle: false, verbose: 0 });
  tf.dispose([x, y]);
}

/** Saves a model as model.json + weights.bin with the given Keras training_config; returns the model.json path. */
export async function saveModelJson(model: tf.LayersModel, folder: string, trainingConfig: unknown): Promise<string> {
  await saveLayersModel(model, folder, trainingConfig);
  return join(folder, "model.json");
}

/**
 * Two models of one head, trained from different seeds on overlapping halves of `rows` (k-fold style), saved under
 * `dir/<name>-a` and `dir/<name>-b` with `trainingConfig`. Returns the model.json paths.
 */
export async function family(
  dir: string,
  name: string,
  head: Head,
  rows: Table,
  trainingConfig: unknown,
): Promise<string[]> {
  const paths: string[] = [];
  for (const [k, seed] of [1, 2].entries()) {
    const model = network(seed, head);
    const start = k * Math.floor(rows.n / 4);
    const part: Table = {
      n: Math.floor(rows.n * 0.6),
      x: rows.x.subarray(start * FEATURES, (start + Math.floor(rows.n * 0.6)) * FEATURES),
      y: rows.y.subarray(start, start + Math.floor(rows.n * 0.6)),
    };
    await fit(model, part, head, 4);
    paths.push(await saveModelJson(model, join(dir, `${name}-${"ab"[k]}`), trainingConfig));
    model.dispose();
  }
  return paths;
}

/** The table as CSV with a header, the label column last, each label written by `label`. */
export async function writeCsv(path: string, rows: Table, label: (y: number, i: number) => string): Promise<string> {
  const header = [...Array.from({ length: FEATURES }, (_, f) => `f${f}`), "target"].join(",");
  const lines = [header];
  for (let i = 0; i < rows.n; i++)
    lines.push(
      [...rows.x.subarray(i * FEATURES, (i + 1) * FEATURES)]
        .map((v) => v.toFixed(4))
        .concat(label(rows.y[i]!, i))
        .join(","),
    );
  await writeFile(path, lines.join("\n") + "\n");
  return path;
}

/** The table as {"x": rows, "y": one-hot rows} JSON. */
export async function writeOneHotJson(path: string, rows: Table, classes: number): Promise<string> {
  const x = Array.from({ length: rows.n }, (_, i) => Array.from(rows.x.subarray(i * FEATURES, (i + 1) * FEATURES)));
  const y = Array.from(rows.y, (c) => Array.from({ length: classes }, (_, j) => (j === c ? 1 : 0)));
  await writeFile(path, JSON.stringify({ x, y }));
  return path;
}
