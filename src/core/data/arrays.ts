import { toFloat32 } from "../convert.js";
import { ModelFileError } from "../errors.js";
import { formatShape } from "../tensor.js";
import type { Dataset, LoadOptions } from "./dataset.js";
import { labelsFromNumbers } from "./labels.js";
import type { NpyArray } from "./npy.js";

/** Builds a Dataset from feature and label arrays (from .npy/.npz files); N is each array's first dimension. */
export function datasetFromArrays(
  x: NpyArray,
  y: NpyArray | undefined,
  source: { file: string; xName: string; yName?: string; labelName?: string; labelSource?: string },
  options: LoadOptions,
): Dataset {
  if (x.shape.length === 0)
    throw new ModelFileError(source.file, `${source.xName} is a scalar; expected an array with one row per sample`);
  const xShape = x.shape.length === 1 ? [x.shape[0]!, 1] : x.shape.slice();
  const n = xShape[0]!;
  if (n === 0) throw new ModelFileError(source.file, `${source.xName} has no samples (shape ${formatShape(x.shape)})`);
  const dataset: Dataset = {
    x: x.owned && x.data instanceof Float32Array ? x.data : toFloat32(x.data, x.dtype),
    xShape,
    task: "unlabeled",
    source: source.file,
    notes: [],
  };
  if (y === undefined) return dataset;
  if (y.shape.length === 0 || y.shape[0] !== n)
    throw new ModelFileError(
      source.file,
      `${source.xName} has ${n} samples (shape ${formatShape(x.shape)}) but ${source.yName} has ${y.shape[0] ?? 0} (shape ${formatShape(y.shape)}); expected one label per sample`,
    );
  const labelSource = source.labelSource ?? source.yName ?? "labels";
  const labels = labelsFromNumbers(numbersOf(y), y.shape, source.file, options, labelSource);
  return { ...dataset, ...labels, notes: labels.notes, labelName: source.labelName ?? source.yName, labelSource };
}

function numbersOf(array: NpyArray): Float64Array {
  if (array.dtype === "int64" || array.dtype === "uint64")
    return Float64Array.from(array.data as BigInt64Array, (v) => Number(v));
  if (array.dtype === "float16") return Float64Array.from(toFloat32(array.data, "float16"));
  return Float64Array.from(array.data as Float32Array);
}
