import { chmod, cp, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const REAL = "test/fixtures/real-models";

/** Every TF.js layers fixture with its parameter count (from PROVENANCE.md). */
export const TFJS_FIXTURES = {
  lenetA: { path: `${REAL}/tensorspace-converter/tfjs_lenet/a_examples_rawModel/mnist.json`, params: 61706 },
  lenetB: { path: `${REAL}/tensorspace-converter/tfjs_lenet/b_test_model/mnist.json`, params: 61706 },
  lenetC: {
    path: `${REAL}/tensorspace-converter/tfjs_lenet/c_src_test_sequential_2018-12-02/mnist.json`,
    params: 61706,
  },
  fromKeras: { path: `${REAL}/tensorspace-converter/tfjs_from_keras_lenet/keras_converted/model.json`, params: 44426 },
  fromTfKeras: {
    path: `${REAL}/tensorspace-converter/tfjs_from_keras_lenet/tfkeras_converted/model.json`,
    params: 44426,
  },
  abalone: { path: `${REAL}/tfjs-examples/abalone-node/model.json`, params: 3051 },
  balance1: { path: `${REAL}/tfjs-examples/balance_pr447/model1/model.json`, params: 99 },
  balance2: { path: `${REAL}/tfjs-examples/balance_pr447/model2/model.json`, params: 82 },
  translation: { path: `${REAL}/tfjs-examples/translation-node_pr157/model.json`, params: 747628 },
  cnn: { path: `${REAL}/tfjs-fixtures/e2e_layers_model_cnn_old/model.json`, params: 6020 },
  gru: { path: `${REAL}/tfjs-fixtures/e2e_layers_model_embedding_gru/model.json`, params: 2300 },
  bundle: { path: `${REAL}/tfjs-fixtures/rn_bundle_model_test/bundle_model_test.json`, params: 11 },
} as const;

export interface ModelJsonFile {
  modelTopology: Record<string, unknown>;
  weightsManifest: {
    paths: string[];
    weights: { name: string; shape: number[]; dtype: string; [k: string]: unknown }[];
  }[];
  [key: string]: unknown;
}

export async function readJson(path: string): Promise<ModelJsonFile> {
  return JSON.parse(await readFile(path, "utf8")) as ModelJsonFile;
}

/** The concatenated bytes of every weight group's shards, as tfjs's loaders hand them to decodeWeights. */
export async function weightData(path: string): Promise<ArrayBuffer> {
  const json = await readJson(path);
  const parts: Buffer[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) parts.push(await readFile(join(dirname(path), p)));
  }
  const all = Buffer.concat(parts);
  return all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
}

/** A scratch folder holding a copy of a fixture's folder; removed by the returned cleanup. */
export async function copyFixtureFolder(
  modelJson: string,
): Promise<{ dir: string; path: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "soup-tfjs-"));
  await cp(dirname(modelJson), dir, { recursive: true });
  // The fixtures are read-only; the copies are edited by the bad-input tests.
  for (const name of await readdir(dir)) await chmod(join(dir, name), 0o644);
  const path = join(dir, modelJson.slice(dirname(modelJson).length + 1));
  return { dir, path, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function scratchDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "soup-tfjs-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Saves a model with tfjs's own save path as model.json + one shard (the format TF.js writes). */
export async function saveWithTfjs(
  model: import("@tensorflow/tfjs").LayersModel,
  dir: string,
  options?: { includeOptimizer?: boolean },
): Promise<string> {
  const tf = await import("@tensorflow/tfjs");
  const { writeFile } = await import("node:fs/promises");
  const path = join(dir, "model.json");
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      await writeFile(join(dir, "weights.bin"), Buffer.from(artifacts.weightData as ArrayBuffer));
      const { weightData: _data, weightSpecs, ...rest } = artifacts;
      await writeFile(
        path,
        JSON.stringify({ ...rest, weightsManifest: [{ paths: ["weights.bin"], weights: weightSpecs }] }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
    options,
  );
  return path;
}
