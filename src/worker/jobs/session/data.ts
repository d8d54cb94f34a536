/**
 * Reads a job's data file as the job's loss needs its labels, checks it against the model, splits it with a seed,
 * and makes tensors of each split.
 */
import * as tf from "@tensorflow/tfjs";
import { checkAgainstInput, loadDataset, type Dataset, type DatasetSplit } from "../../../core/data/index.js";
import type { SplitName } from "../../../core/data/split.js";
import { jobSplit } from "../../../core/data/test-set.js";
import { UsageError } from "../../../core/errors.js";
import type { DataSpec, LossChoice, SplitReport } from "../../../protocol/worker.js";
import { chooseLoss, labelTaskFor } from "../../learn/loss-choice.js";
import type { LossSpec } from "../../learn/loss.js";
import type { SoupData } from "../../learn/problem.js";
import type { LoadedProblem } from "./problem.js";

/** The split as a job keeps it: which rows went where. Their features are in the job's tensors only. */
export type JobSplit = Omit<DatasetSplit, SplitName>;

export interface JobData {
  split: JobSplit;
  /** The user's own held-out rows (`--test`) that `test` holds; absent when the test rows were drawn from the data. */
  testFile?: string;
  learn: SoupData;
  validation: SoupData;
  test: SoupData;
  notes: string[];
  /** The loss the job learns and scores with (also set on the problem); recipes record it. */
  loss?: LossSpec;
}

/**
 * The tensors of one split, its features let go of as they are made: the splits' copies used to stay beside the
 * tensors for the whole job (500 MiB more at 2,000,000 rows of 64 features).
 */
function takeSplit(split: Partial<Pick<DatasetSplit, SplitName>>, name: SplitName): SoupData {
  const dataset = split[name]!;
  delete split[name];
  return toSoupData(dataset);
}

function toSoupData(dataset: Dataset): SoupData {
  const x = tf.tensor(dataset.x, dataset.xShape, "float32");
  if (dataset.y === undefined) return { x };
  const y =
    dataset.y instanceof Int32Array
      ? tf.tensor1d(dataset.y, "int32")
      : tf.tensor(dataset.y, dataset.yShape ?? [dataset.y.length], "float32");
  return { x, y };
}

function singleShape(shape: tf.Shape | tf.Shape[], what: string): (number | null)[] {
  if (Array.isArray(shape[0])) {
    if ((shape as tf.Shape[]).length !== 1)
      throw new UsageError(`models with several ${what}s are not supported for learning`);
    return (shape as tf.Shape[])[0]!;
  }
  return shape as (number | null)[];
}

/**
 * `label: "none"` says the file has no labels (for the entropy objective); otherwise the loaders' defaults apply,
 * with the labels read as the loss needs them. The loss is chosen here, once (worker/learn/loss-choice.ts), and
 * set on `loaded.problem` for every task of the job; a fallback from the training loss is noted in
 * `loaded.warnings`, so every report says it.
 */
export async function loadJobData(spec: DataSpec, loaded: LoadedProblem, loss?: LossChoice): Promise<JobData> {
  const model = loaded.problem.model;
  const task = labelTaskFor(model, loss, loaded.trainingConfig);
  const inputShape = singleShape(model.inputs.map((i) => i.shape) as tf.Shape[], "input");
  const outputShape = model.outputs[model.outputs.length - 1]!.shape as (number | null)[];
  const read = async (path: string) => {
    const dataset = await loadDataset(path, {
      ...(spec.label !== undefined ? { label: spec.label === "none" ? null : spec.label } : {}),
      ...(spec.inputKey !== undefined ? { xKey: spec.inputKey } : {}),
      ...(spec.scale !== undefined ? { scale: spec.scale } : {}),
      ...(spec.maxRows !== undefined ? { maxRows: spec.maxRows, sampleSeed: spec.seed ?? 0 } : {}),
      ...(task !== undefined ? { task } : {}),
      inputShape,
    });
    return { dataset, checked: checkAgainstInput(dataset, inputShape, outputShape, path) };
  };
  // The loaded rows live only in here: once the splits have their copies, they are let go of.
  const splitRows = async () => {
    const { dataset, checked } = await read(spec.path);
    const own = spec.test === undefined ? undefined : await read(spec.test);
    const { split, warning } = jobSplit(
      checked.dataset,
      own ? { dataset: own.checked.dataset, file: spec.test! } : undefined,
      spec.seed,
      spec.fractions,
    );
    for (const line of [dataset.sampleNote, own?.dataset.sampleNote, warning])
      if (line !== undefined) loaded.warnings.push(line);
    const notes = [
      ...dataset.notes,
      ...checked.notes,
      ...(own ? [...own.dataset.notes, ...own.checked.notes].map((n) => `${spec.test}: ${n}`) : []),
    ];
    return { split: split as Partial<DatasetSplit> & JobSplit, notes, labelNote: dataset.labelNote };
  };
  const { split, notes, labelNote } = await splitRows();
  const data: JobData = {
    split,
    ...(spec.test !== undefined ? { testFile: spec.test } : {}),
    learn: takeSplit(split, "learn"),
    validation: takeSplit(split, "validation"),
    test: takeSplit(split, "test"),
    notes,
  };
  try {
    const chosen = chooseLoss(model, loss, loaded.trainingConfig, data.learn.y);
    loaded.problem = { ...loaded.problem, loss: chosen.loss };
    data.loss = chosen.loss;
    for (const line of [chosen.note, labelNote])
      if (line !== undefined && !loaded.warnings.includes(line)) loaded.warnings.push(line);
  } catch (error) {
    disposeJobData(data);
    throw error;
  }
  return data;
}

export function disposeJobData(data: JobData): void {
  for (const d of [data.learn, data.validation, data.test]) tf.dispose([d.x, ...(d.y ? [d.y] : [])]);
}

/** What a report says when its test rows were drawn from the learning data (k-fold models saw most of those rows). */
export const TEST_FROM_DATA_NOTE =
  "Rows the models were trained on may be among these test rows: --test <file> takes your own held-out rows.";

/** The report's record of the split: sizes, seed, and where the test rows came from. */
export function splitReport(data: JobData): SplitReport {
  return {
    ...data.split.sizes,
    seed: data.split.seed,
    testFrom: data.testFile !== undefined ? "file" : "data",
    ...(data.testFile !== undefined ? { testFile: data.testFile } : { testNote: TEST_FROM_DATA_NOTE }),
  };
}
