import { stat } from "node:fs/promises";
import { ModelFileError } from "../errors.js";
import { readHead } from "../io/open.js";
import { csvLoader } from "./csv.js";
import type { DataFormatId, DataLoader, Dataset, LoadOptions } from "./dataset.js";
import { imageFolderLoader } from "./images.js";
import { jsonLoader } from "./json.js";
import { npyFolderHasPair, npyPairLoader } from "./npy-pair.js";
import { npzLoader } from "./npz.js";
import { isGzip } from "./read.js";
import { requireRegularFile } from "../formats/limits.js";
import { sampleCount } from "./dataset.js";
import { sampleNote, sampleRowIndices } from "./row-sample.js";
import { subsetDataset } from "./split.js";

/** Content checks first (zip, npy magic), then names; the first loader that claims a file reads it. */
const LOADERS: DataLoader[] = [npzLoader, npyPairLoader, jsonLoader, csvLoader];

/** Which loader reads a path: a folder is an image folder (or a folder with x.npy and y.npy); files by content. */
export async function detectDataFormat(path: string): Promise<DataFormatId> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new ModelFileError(path, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  if (info.isDirectory()) return (await npyFolderHasPair(path)) ? npyPairLoader.id : imageFolderLoader.id;
  requireRegularFile(path);
  if (info.size === 0) throw new ModelFileError(path, "the file is empty; expected data (.npz, .npy, .csv, .json)");
  const head = await readHead(path, 64);
  const loader = LOADERS.find((l) => l.detect(path, head));
  if (loader) return loader.id;
  if (isGzip(head))
    throw new ModelFileError(
      path,
      "is gzip data of unknown kind; expected a name ending in .csv.gz, .tsv.gz or .json.gz",
    );
  const firstChar = new TextDecoder().decode(head).trimStart()[0];
  return firstChar === "{" || firstChar === "[" ? jsonLoader.id : csvLoader.id;
}

/** Reads a data file or folder into a Dataset, choosing the format from its content and name. */
export async function loadDataset(path: string, options: LoadOptions = {}): Promise<Dataset> {
  const id = await detectDataFormat(path);
  const loader = [...LOADERS, imageFolderLoader].find((l) => l.id === id)!;
  let dataset = await loader.load(path, options);
  if (options.maxRows !== undefined && sampleCount(dataset) > options.maxRows) {
    const seed = options.sampleSeed ?? 0;
    const total = sampleCount(dataset);
    dataset = subsetDataset(dataset, sampleRowIndices(total, options.maxRows, seed));
    dataset.sampleNote = `${path}: ${sampleNote(options.maxRows, total, seed, false)}`;
  }
  if (options.scale !== undefined && options.scale !== 1) {
    if (!Number.isFinite(options.scale))
      throw new ModelFileError(path, `scale ${options.scale} must be a finite number`);
    const scale = options.scale;
    for (let i = 0; i < dataset.x.length; i++) dataset.x[i] = dataset.x[i]! * scale;
    dataset.notes.push(`features multiplied by ${options.scale}`);
  }
  return dataset;
}
