/**
 * Keras 2 HDF5 files written from a TF.js model's weights, laid out as Keras 2.x writes them: a weights-only
 * checkpoint (`ModelCheckpoint(save_weights_only=True)` / `model.save_weights`: root attributes `layer_names`,
 * `backend`, `keras_version`, one group per layer with `weight_names`, datasets at `/<layer>/<layer>/<weight>:0`),
 * or a full model (`model.save`: the same under `/model_weights`, with `model_config` and `training_config`).
 */
import { readFile } from "node:fs/promises";
import { h5wasm, h5wasmReady } from "../../src/core/formats/hdf5/module.js";
import { openModel } from "../../src/core/formats/registry.js";

type Group = InstanceType<typeof h5wasm.Group>;

export interface CheckpointOptions {
  /** Write a full model (model_config, training_config, /model_weights) rather than weights only. */
  full?: boolean;
  /** Layer names replaced in the written file (its config too): a model of another naming. */
  rename?: Record<string, string>;
}

function renamed(name: string, rename: Record<string, string> | undefined): string {
  const [layer, ...rest] = name.split("/");
  return [rename?.[layer!] ?? layer!, ...rest].join("/");
}

/** Writes `target` from the TF.js model at `modelJson` (a Sequential of built-in layers). */
export async function writeKeras2File(modelJson: string, target: string, options: CheckpointOptions = {}) {
  const json = JSON.parse(await readFile(modelJson, "utf8")) as {
    modelTopology: Record<string, unknown>;
    trainingConfig?: unknown;
  };
  const byLayer = new Map<string, { name: string; data: Float32Array; shape: number[] }[]>();
  const model = await openModel(modelJson);
  try {
    for (const t of model.manifest.tensors) {
      const name = renamed(t.name, options.rename);
      const layer = name.split("/")[0]!;
      const data = (await model.readTensor(t.name, { float32: true })).data as Float32Array;
      if (!byLayer.has(layer)) byLayer.set(layer, []);
      byLayer.get(layer)!.push({ name: `${name}:0`, data, shape: t.shape });
    }
  } finally {
    await model.close();
  }
  await h5wasmReady();
  // The superblock h5py and Keras write (version 0), which the writer checks before copying a template.
  const file = new h5wasm.File(target, "w", { libver: ["earliest", "v108"] });
  try {
    let root: Group = file;
    file.create_attribute("keras_version", "2.2.4");
    file.create_attribute("backend", "tensorflow");
    if (options.full) {
      let config = JSON.stringify(json.modelTopology);
      for (const [from, to] of Object.entries(options.rename ?? {}))
        config = config.replaceAll(`"name":"${from}"`, `"name":"${to}"`);
      file.create_attribute("model_config", config);
      file.create_attribute("training_config", JSON.stringify(json.trainingConfig ?? {}));
      root = file.create_group("model_weights");
      root.create_attribute("keras_version", "2.2.4");
      root.create_attribute("backend", "tensorflow");
    }
    root.create_attribute("layer_names", [...byLayer.keys()]);
    for (const [layer, weights] of byLayer) {
      const group = root.create_group(layer);
      group.create_attribute(
        "weight_names",
        weights.map((w) => w.name),
      );
      const inner = group.create_group(layer);
      for (const w of weights)
        inner.create_dataset({ name: w.name.slice(layer.length + 1), data: w.data, shape: w.shape, dtype: "<f4" });
    }
  } finally {
    file.close();
  }
}
