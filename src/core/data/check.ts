import { ModelFileError } from "../errors.js";
import { formatShape } from "../tensor.js";
import { type Dataset, formatInputShape, sampleCount } from "./dataset.js";

export interface CheckedDataset {
  /** The dataset as the model takes it (x reshaped when only its layout differed). */
  dataset: Dataset;
  notes: string[];
}

/**
 * Checks data against a model before anything runs: every sample must fill the model's input (a flat row is
 * reshaped when the sizes agree), values must be finite, and labels must fit the output (class indices within
 * the output units; regression targets as wide as the output). Throws a ModelFileError naming `file`.
 */
export function checkAgainstInput(
  dataset: Dataset,
  inputShape: readonly (number | null)[],
  outputShape: readonly (number | null)[],
  file: string = dataset.source,
): CheckedDataset {
  const notes: string[] = [];
  const sample = dataset.xShape.slice(1);
  const expected = inputShape.slice(1);
  const sampleSize = sample.reduce((a, b) => a * b, 1);
  let xShape = dataset.xShape;
  if (!fits(sample, expected)) {
    const known = expected.every((d): d is number => d !== null);
    const expectedSize = known ? expected.reduce((a, b) => a * b, 1) : undefined;
    const what =
      sample.length === 1
        ? `rows have ${sample[0]} features`
        : `samples have shape ${formatShape(sample)} (${sampleSize} values)`;
    if (expectedSize !== sampleSize)
      throw new ModelFileError(
        file,
        `${what}; the model expects input ${formatInputShape(inputShape)}${expectedSize === undefined ? "" : ` (${expectedSize} values)`}`,
      );
    xShape = [sampleCount(dataset), ...(expected as number[])];
    notes.push(
      `samples of shape ${formatShape(sample)} reshaped to ${formatShape(expected as number[])} for the model's input ${formatInputShape(inputShape)}`,
    );
  }
  const bad = firstNonFinite(dataset.x);
  if (bad !== -1)
    throw new ModelFileError(
      file,
      `sample ${Math.floor(bad / sampleSize)} holds ${dataset.x[bad]}; expected finite feature values`,
    );
  checkLabels(dataset, outputShape, file);
  return {
    dataset: xShape === dataset.xShape ? dataset : { ...dataset, xShape, notes: [...dataset.notes, ...notes] },
    notes,
  };
}

/** Index of the first value that is not finite, -1 when all are (a loop: findIndex's callback per value was 5× slower). */
function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}

function fits(sample: readonly number[], expected: readonly (number | null)[]): boolean {
  return sample.length === expected.length && sample.every((d, i) => expected[i] === null || expected[i] === d);
}

function checkLabels(dataset: Dataset, outputShape: readonly (number | null)[], file: string): void {
  if (dataset.y === undefined || dataset.task === "unlabeled") return;
  const units = outputShape.slice(1).reduce<number>((a, b) => a * (b ?? 1), 1);
  const where = dataset.labelSource === undefined ? "" : `${dataset.labelSource}: `;
  if (dataset.task === "classification") {
    // One sigmoid unit takes two classes (binary cross-entropy); otherwise one unit per class.
    const classes = units === 1 ? 2 : units;
    let max = 0;
    let at = 0;
    dataset.y.forEach((v, i) => {
      if (v > max) [max, at] = [v, i];
    });
    if (max >= classes) {
      const name = dataset.classes?.[max];
      throw new ModelFileError(
        file,
        `${where}sample ${at} has class ${max}${name !== undefined && name !== String(max) ? ` ("${name}")` : ""}, beyond the model's ${units} output unit${units === 1 ? " (binary: classes 0 and 1)" : "s"} (classes 0..${classes - 1})`,
      );
    }
    return;
  }
  const width = (dataset.yShape ?? []).slice(1).reduce((a, b) => a * b, 1);
  if (width !== units)
    throw new ModelFileError(
      file,
      `${where}labels have ${width} value${width === 1 ? "" : "s"} per sample; the model's output ${formatInputShape(outputShape)} has ${units}`,
    );
}
