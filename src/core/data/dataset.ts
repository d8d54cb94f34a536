export type DatasetTask = "classification" | "regression" | "unlabeled";

/** Examples read from a data file, ready to feed a model: features as float32, N first. */
export interface Dataset {
  x: Float32Array;
  /** The shape of x, N first: [N, features] for tables, [N, H, W, C] for images, as the file has it. */
  xShape: number[];
  /** Class indices (Int32Array, shape [N]) for classification; targets (Float32Array, [N, k]) for regression. */
  y?: Float32Array | Int32Array;
  yShape?: number[];
  task: DatasetTask;
  /** Names of the class indices (index i is classes[i]); classification only. */
  classes?: string[];
  /** The file (or folder) the data came from, as the user named it. */
  source: string;
  /** The column, key or file the labels came from, for previews. */
  labelName?: string;
  /** Where the labels are, for messages: `column "target"`, `key "y"`, `y.npy`. */
  labelSource?: string;
  /** How class names were numbered, when the order is not the obvious one: a line every report shows. */
  labelNote?: string;
  /** With --max-rows, which rows were kept of how many: a line every report shows. */
  sampleNote?: string;
  /** What the loader decided on the user's behalf (header row found, one-hot labels turned into indices, ...). */
  notes: string[];
}

export interface LoadOptions {
  /**
   * Where the labels are: a CSV column (name or 0-based index, negative counts from the end; default the last
   * column), a JSON key (default "y" or "label"), an .npz key (default "y"). `null`: the data has no labels.
   */
  label?: string | number | null;
  /** The key of the features in an .npz or a {"x": ..., "y": ...} JSON file (default "x"). */
  xKey?: string;
  /** The labels file of a pair of .npy files (default: the sibling named like the features with x -> y). */
  labelsPath?: string;
  /** Overrides the task the loader infers from the labels. */
  task?: "classification" | "regression";
  /** Multiplies every feature value after loading (e.g. 1/16 for 0..16 pixel counts). */
  scale?: number;
  /**
   * The model's input shape with a null batch ([null, H, W, C]); images are resized and converted to it.
   * Without it, images keep the first image's size (1 channel if it is gray, else 3).
   */
  inputShape?: readonly (number | null)[];
  /** At most this many rows: a seeded sample (core/data/row-sample.ts), with `sampleSeed` (default 0). */
  maxRows?: number;
  sampleSeed?: number;
}

/** One data format: recognises its files and reads them into a Dataset. */
export interface DataLoader {
  readonly id: DataFormatId;
  /** True when the path (with its first bytes, or null for a folder) is this format's. */
  detect(path: string, head: Uint8Array | null): boolean;
  load(path: string, options: LoadOptions): Promise<Dataset>;
}

export type DataFormatId = "npz" | "npy-pair" | "csv" | "json" | "image-folder";

export function featureCount(dataset: Pick<Dataset, "xShape">): number {
  let n = 1;
  for (const d of dataset.xShape.slice(1)) n *= d;
  return n;
}

export function sampleCount(dataset: Pick<Dataset, "xShape">): number {
  return dataset.xShape[0] ?? 0;
}

/** A model's input or output shape as people read it: "[batch, 28, 28, 1]" (src/protocol/model-shape.ts). */
export { formatModelShape as formatInputShape } from "../../protocol/model-shape.js";
