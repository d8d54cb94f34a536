// The benchmark's problem: the digits sample's ingredients and the demo's data and split (soup.csv.gz, splitDataset
// defaults), loaded once and shared by the run and the profile.
import * as tf from "@tensorflow/tfjs";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadDataset, splitDataset, type Dataset, type DatasetSplit } from "../../src/core/data/index.js";
import type { SoupData, SoupProblem } from "../../src/worker/learn/problem.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const SAMPLE = join(ROOT, "samples/digits");

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

export interface Bench {
  readonly split: DatasetSplit;
  readonly learn: SoupData;
  readonly validation: SoupData;
  readonly test: SoupData;
  readonly problem: SoupProblem;
}

/** Call after the backend is chosen: the tensors live on it. */
export async function loadBench(): Promise<Bench> {
  // The demo's data and split: soup.csv.gz holds no row the ingredients were trained on (samples/digits/README.md).
  const split = splitDataset(await loadDataset(join(SAMPLE, "soup.csv.gz")));
  const [learn, validation, test] = [split.learn, split.validation, split.test].map(toData) as [
    SoupData,
    SoupData,
    SoupData,
  ];
  const dirs = ["1", "2", "3", "4", "5"]
    .map((i) => join(SAMPLE, `models/ingredient-${i}`))
    .filter((d) => existsSync(d));
  const models = await Promise.all(dirs.map(loadLayersModel));
  const executor = await loadLayersModel(dirs[0]!);
  const variables = executor.layers.flatMap((l) => l.weights);
  const layerOf = executor.layers.flatMap((l) => l.weights.map(() => l.name));
  const ingredients = models.map((m) =>
    executor.layers.flatMap((l) =>
      m.getLayer(l.name).weights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array)),
    ),
  );
  return { split, learn, validation, test, problem: { model: executor, variables, layerOf, ingredients } };
}
