import { ModelFileError } from "../errors.js";
import type { Dataset, LoadOptions } from "./dataset.js";

export type Labels = Pick<Dataset, "y" | "yShape" | "task" | "classes" | "notes" | "labelNote">;

/** Class indices beyond this are taken for a mistake rather than a class list of that length. */
const MAX_CLASS_INDEX = 100_000;

/** Class names whose sorted order is the order anyone expects (no note of the mapping needed). */
const OBVIOUS_PAIRS = [
  ["false", "true"],
  ["no", "yes"],
  ["negative", "positive"],
  ["n", "y"],
  ["f", "t"],
];

/**
 * Labels from numbers: non-negative integers are class indices (unless options.task says regression), one-hot
 * rows become class indices, anything else is a regression target. `where` names the labels in messages
 * (`column "target"`, `key "y"`, `y.npy`).
 */
export function labelsFromNumbers(
  values: ArrayLike<number>,
  shape: readonly number[],
  file: string,
  options: Pick<LoadOptions, "task">,
  where = "labels",
): Labels {
  const n = shape[0] ?? 0;
  const width = values.length / Math.max(n, 1);
  if (options.task !== "regression") {
    if (width === 1) {
      const bad = firstNonIndex(values);
      if (bad === -1) return classIndices(values, n);
      if (options.task === "classification")
        throw new ModelFileError(
          file,
          `${where}: sample ${bad} has label ${values[bad]}; a classifier needs class indices (non-negative integers) or class names`,
        );
    } else if (isOneHot(values, width)) {
      const indices = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < width; j++) if (values[i * width + j] === 1) indices[i] = j;
      }
      return {
        y: indices,
        yShape: [n],
        task: "classification",
        classes: Array.from({ length: width }, (_, i) => String(i)),
        notes: [`one-hot labels (${width} columns) read as class indices`],
      };
    } else if (options.task === "classification") {
      throw new ModelFileError(
        file,
        `${where}: labels have ${width} values per sample but are not one-hot rows; a classifier needs one class per sample`,
      );
    }
  }
  const y = Float32Array.from(values as ArrayLike<number>);
  return { y, yShape: [n, width], task: "regression", notes: [] };
}

/**
 * Labels from text: all numeric text goes the number route; otherwise each distinct name is a class, numbered in
 * sorted order (a note gives the mapping unless the order is the obvious one, as no/yes).
 */
export function labelsFromStrings(
  values: readonly string[],
  file: string,
  options: Pick<LoadOptions, "task">,
  where = "labels",
): Labels {
  const numbers = values.map((v) => parseNumber(v));
  const firstText = numbers.findIndex((v) => v === undefined);
  if (firstText === -1) return labelsFromNumbers(numbers as number[], [values.length], file, options, where);
  if (options.task === "regression")
    throw new ModelFileError(
      file,
      `${where}: sample ${firstText} has label "${values[firstText]}"; the model's loss is a regression loss, which needs numeric labels`,
    );
  const classes = [...new Set(values)].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  const indexOf = new Map(classes.map((c, i) => [c, i]));
  const y = Int32Array.from(values, (v) => indexOf.get(v)!);
  if (obviousOrder(classes)) return { y, yShape: [values.length], task: "classification", classes, notes: [] };
  const labelNote = `${file}, ${where}: class names numbered in sorted order: ${mapping(classes)}`;
  return { y, yShape: [values.length], task: "classification", classes, notes: [labelNote], labelNote };
}

function obviousOrder(classes: readonly string[]): boolean {
  const lower = classes.map((c) => c.toLowerCase());
  return OBVIOUS_PAIRS.some((pair) => pair.length === lower.length && pair.every((p, i) => p === lower[i]));
}

function mapping(classes: readonly string[]): string {
  const shown = classes.slice(0, 12).map((c, i) => `"${c}" = ${i}`);
  return shown.join(", ") + (classes.length > shown.length ? `, … (${classes.length} classes)` : "");
}

/** A finite number written as text (no empty cells, no "NaN", no "0x10"), else undefined. */
export function parseNumber(text: string): number | undefined {
  const t = text.trim();
  if (t === "" || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

function firstNonIndex(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < 0 || v > MAX_CLASS_INDEX) return i;
  }
  return -1;
}

function classIndices(values: ArrayLike<number>, n: number): Labels {
  const y = Int32Array.from(values);
  let max = -1;
  for (const v of y) if (v > max) max = v;
  return {
    y,
    yShape: [n],
    task: "classification",
    classes: Array.from({ length: max + 1 }, (_, i) => String(i)),
    notes: [],
  };
}

function isOneHot(values: ArrayLike<number>, width: number): boolean {
  if (!Number.isInteger(width) || width < 2) return false;
  for (let i = 0; i < values.length; i += width) {
    let ones = 0;
    for (let j = 0; j < width; j++) {
      const v = values[i + j];
      if (v === 1) ones++;
      else if (v !== 0) return false;
    }
    if (ones !== 1) return false;
  }
  return values.length > 0;
}
