import { stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { datasetFromArrays } from "./arrays.js";
import type { DataLoader, Dataset, LoadOptions } from "./dataset.js";
import { isNpy, parseNpy, type NpyArray } from "./npy.js";
import { readNpyAsFloat32 } from "./npy-stream.js";
import { readDataFile } from "./read.js";

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
  // The features are read in pieces straight into float32 (the largest array by far); the labels whole.
  const features = await readNpyAsFloat32(xPath);
  const x: NpyArray = { ...features, dtype: "float32", data: features.values, owned: true };
  const y = yPath === undefined ? undefined : parseNpy(await readDataFile(yPath), yPath);
  const dataset = datasetFromArrays(
    x,
    y,
    { file: xPath, xName: basename(xPath), yName: yPath && basename(yPath) },
    options,
  );
  if (yPath === undefined && options.label !== null)
    dataset.notes.push(
      `no labels file beside ${basename(xPath)} (expected a y.npy-style sibling): the data is unlabeled`,
    );
  return dataset;
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
