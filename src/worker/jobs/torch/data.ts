/**
 * A PyTorch job's data: read and split once by the core loaders, with the same seed, split and `--test` semantics
 * as the TensorFlow.js jobs (session/data.ts), and handed to the engine as plain arrays. PyTorch models record no
 * input shape, so the samples keep the file's own shape (an .npz keeps [N, C, L] or [N, C, H, W]).
 */
import { checkAgainstInput, loadDataset, type Dataset, type DatasetSplit } from "../../../core/data/index.js";
import { sampleCount } from "../../../core/data/dataset.js";
import { jobSplit } from "../../../core/data/test-set.js";
import type { DataSpec, LossChoice, SplitReport } from "../../../protocol/worker.js";
import type { TorchDataSplit } from "../../torch/torch-engine.js";
import { TEST_FROM_DATA_NOTE } from "../session/data.js";

export interface TorchJobData {
  readonly split: DatasetSplit;
  /** The user's own held-out rows (`--test`), when given. */
  readonly testFile?: string;
  readonly notes: string[];
  /** How the labels were numbered, when not the obvious way: every report says it. */
  readonly labelNote?: string;
  /** Which rows were sampled (--max-rows), rows of the --test file that are also rows of the data: every report says them. */
  readonly dataWarnings: string[];
}

/** How labels must be read for an explicit loss: class indices for cross-entropy, numbers for mse / mae. */
function labelTask(loss: LossChoice | undefined): "classification" | "regression" | undefined {
  if (loss === "crossentropy") return "classification";
  if (loss === "mse" || loss === "mae") return "regression";
  return undefined;
}

export async function loadTorchData(spec: DataSpec, loss?: LossChoice): Promise<TorchJobData> {
  const task = labelTask(loss);
  const read = (path: string) =>
    loadDataset(path, {
      ...(spec.label !== undefined ? { label: spec.label === "none" ? null : spec.label } : {}),
      ...(spec.inputKey !== undefined ? { xKey: spec.inputKey } : {}),
      ...(spec.scale !== undefined ? { scale: spec.scale } : {}),
      ...(spec.maxRows !== undefined ? { maxRows: spec.maxRows, sampleSeed: spec.seed ?? 0 } : {}),
      ...(task !== undefined ? { task } : {}),
    });
  const dataset = await read(spec.path);
  const own = spec.test === undefined ? undefined : await read(spec.test);
  const { split, warning } = jobSplit(
    dataset,
    own ? { dataset: own, file: spec.test! } : undefined,
    spec.seed,
    spec.fractions,
  );
  return {
    split,
    ...(spec.test !== undefined ? { testFile: spec.test } : {}),
    notes: [...dataset.notes, ...(own ? own.notes.map((n) => `${spec.test}: ${n}`) : [])],
    ...(dataset.labelNote !== undefined ? { labelNote: dataset.labelNote } : {}),
    dataWarnings: [dataset.sampleNote, own?.sampleNote, warning].filter((w): w is string => w !== undefined),
  };
}

/**
 * Checks the data against what the model gives (its output on one row): finite values, class indices within the
 * output units, regression targets as wide as the output. Throws a ModelFileError naming the file.
 */
export function checkAgainstOutput(data: TorchJobData, spec: DataSpec, outputShape: readonly number[]): void {
  const output = [null, ...outputShape.slice(1)];
  const check = (dataset: Dataset, file: string) =>
    checkAgainstInput(dataset, [null, ...dataset.xShape.slice(1)], output, file);
  check(data.split.learn, spec.path);
  check(data.split.validation, spec.path);
  check(data.split.test, spec.test ?? spec.path);
}

/** One split as the engine takes it. */
export function engineSplit(dataset: Dataset): TorchDataSplit {
  return {
    x: dataset.x,
    xShape: dataset.xShape,
    ...(dataset.y !== undefined ? { y: dataset.y, yShape: dataset.yShape ?? [sampleCount(dataset)] } : {}),
  };
}

/** The report's record of the split, as session/data.ts splitReport gives it. */
export function torchSplitReport(data: TorchJobData): SplitReport {
  return {
    ...data.split.sizes,
    seed: data.split.seed,
    testFrom: data.testFile !== undefined ? "file" : "data",
    ...(data.testFile !== undefined ? { testFile: data.testFile } : { testNote: TEST_FROM_DATA_NOTE }),
  };
}
