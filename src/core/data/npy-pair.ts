import { stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { datasetFromArrays } from "./arrays.js";
import type { DataLoader, Dataset, LoadOptions } from "./dataset.js";
import { isNpy, parseNpy, type NpyArray } from "./npy.js";
import { readNpyAsFloat32 } from "./npy-stream.js";
import { readDataFile } from "./read.js";
import { sampleNote, sampleRowIndices } from "./row-sample.js";
import { ModelFileError } from "../errors.js";

/**
 * A pair of .npy files: the path is the features file (or a folder holding x.npy and y.npy); the labels file is
 * options.labelsPath, else the sibling whose name swaps the features' "x" for "y" (x.npy -> y.npy,
 * x_train.npy -> y_train.npy, train_x.npy -> train_y.npy). Without one the data is unlabeled.
 */
export const npyPairLoader: DataLoader = {
  id: "npy-pair",
  detect: (_path, head) => head !== null && isNpy(head),
  load: loadNpyPair,
};

export async function npyFolderHasPair(folder: string): Promise<boolean> {
  return (await isFile(join(folder, "x.npy"))) && (await isFile(join(folder, "y.npy")));
}

async function loadNpyPair(path: string, options: LoadOptions): Promise<Dataset> {
  const xPath = (await isFile(path)) ? path : join(path, "x.npy");
  const yPath = options.label === null ? undefined : (options.labelsPath ?? (await labelsSibling(xPath)));
  // The features are read in pieces straight into float32 (the largest array by far), only the sampled rows
  // with --max-rows; the labels whole, then the same rows.
  let sampled: { rows: Int32Array; total: number } | undefined;
  const features = await readNpyAsFloat32(xPath, (total) => {
    if (options.maxRows === undefined || options.maxRows >= total) return undefined;
    sampled = { rows: sampleRowIndices(total, options.maxRows, options.sampleSeed ?? 0), total };
    return sampled.rows;
  });
  const x: NpyArray = { ...features, dtype: "float32", data: features.values, owned: true };
  const labels = yPath === undefined ? undefined : parseNpy(await readDataFile(yPath), yPath);
  const y = labels !== undefined && sampled !== undefined ? labelRows(labels, sampled, yPath!) : labels;
  const dataset = datasetFromArrays(
    x,
    y,
    { file: xPath, xName: basename(xPath), yName: yPath && basename(yPath) },
    options,
  );
  if (sampled !== undefined)
    dataset.sampleNote = `${xPath}: ${sampleNote(sampled.rows.length, sampled.total, options.sampleSeed ?? 0, true)}`;
  if (yPath === undefined && options.label !== null)
    dataset.notes.push(
      `no labels file beside ${basename(xPath)} (expected a y.npy-style sibling): the data is unlabeled`,
    );
  return dataset;
}

/** The sampled rows of a labels array that has one row per row of the features. */
function labelRows(labels: NpyArray, sampled: { rows: Int32Array; total: number }, file: string): NpyArray {
  if (labels.shape[0] !== sampled.total)
    throw new ModelFileError(file, `has ${labels.shape[0] ?? 0} rows where the features have ${sampled.total}`);
  const perRow = sampled.total === 0 ? 0 : labels.data.length / sampled.total;
  const Kind = labels.data.constructor as new (n: number) => typeof labels.data;
  const data = new Kind(sampled.rows.length * perRow);
  sampled.rows.forEach((r, i) => {
    for (let k = 0; k < perRow; k++)
      (data as unknown as number[])[i * perRow + k] = (labels.data as unknown as number[])[r * perRow + k]!;
  });
  return { ...labels, shape: [sampled.rows.length, ...labels.shape.slice(1)], data };
}

/** The names a features file's labels file may have beside it (x.npy -> y.npy, train_x.npy -> train_y.npy, ...). */
export function labelsSiblingNames(xPath: string): string[] {
  const name = basename(xPath);
  return [
    ...new Set(
      [
        name.replace(/^x(?=[._-])/i, (m) => (m === "X" ? "Y" : "y")),
        name.replace(/([._-])x(?=\.npy$)/i, (_m, sep: string) => `${sep}y`),
        name.replace(/^X(?=[._-])/, "y"),
      ].filter((c) => c !== name),
    ),
  ];
}

export async function labelsSibling(xPath: string): Promise<string | undefined> {
  for (const candidate of labelsSiblingNames(xPath)) {
    const p = join(dirname(xPath), candidate);
    if (await isFile(p)) return p;
  }
  return undefined;
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}
