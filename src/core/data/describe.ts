import { type Dataset, type DatasetTask, featureCount, sampleCount } from "./dataset.js";

/** What the UI shows of a dataset before anything runs. */
export interface DatasetDescription {
  source: string;
  task: DatasetTask;
  samples: number;
  xShape: number[];
  /** Values per sample. */
  features: number;
  yShape?: number[];
  labelName?: string;
  /** Classification: each class's name and number of samples, in class-index order. */
  classCounts?: { index: number; name: string; count: number }[];
  /** Regression: range and mean of the targets. */
  targets?: { min: number; max: number; mean: number };
  /** Range of the feature values (to spot unscaled inputs). */
  featureRange: { min: number; max: number };
  notes: string[];
}

export function describeDataset(dataset: Dataset): DatasetDescription {
  const description: DatasetDescription = {
    source: dataset.source,
    task: dataset.task,
    samples: sampleCount(dataset),
    xShape: dataset.xShape,
    features: featureCount(dataset),
    featureRange: range(dataset.x),
    notes: dataset.notes,
  };
  if (dataset.yShape) description.yShape = dataset.yShape;
  if (dataset.labelName !== undefined) description.labelName = dataset.labelName;
  if (dataset.task === "classification" && dataset.y) {
    const counts = new Array<number>(dataset.classes?.length ?? 0).fill(0);
    for (const c of dataset.y) counts[c] = (counts[c] ?? 0) + 1;
    description.classCounts = counts.map((count, index) => ({
      index,
      name: dataset.classes?.[index] ?? String(index),
      count,
    }));
  } else if (dataset.task === "regression" && dataset.y) {
    const { min, max } = range(dataset.y);
    let sum = 0;
    for (const v of dataset.y) sum += v;
    description.targets = { min, max, mean: dataset.y.length ? sum / dataset.y.length : NaN };
  }
  return description;
}

function range(values: ArrayLike<number>): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}
