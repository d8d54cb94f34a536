import { ModelFileError } from "../errors.js";
import { formatShape } from "../tensor.js";
import type { DataLoader, Dataset, LoadOptions } from "./dataset.js";
import { type Labels, labelsFromNumbers, labelsFromStrings } from "./labels.js";
import { nameWithoutGz, readDataFile } from "./read.js";
import { parseBoundedJson } from "../formats/limits.js";

/**
 * JSON data, in one of three shapes:
 * - an object of arrays, {"x": [...samples], "y": [...labels], "classes"?: [...names]} (keys: options.xKey,
 *   options.label); samples may be nested arrays ([N, H, W, C]); labels are numbers, class names, or one-hot rows;
 * - an array of records, [{"f1": 1, "f2": 2, "label": "cat"}, ...]: the label key is options.label (default
 *   "label", else "y"), every other key is a numeric feature in the first record's key order; a record with a
 *   single array-valued feature ({"pixels": [[...]], "label": 3}) keeps that array's shape;
 * - an array of arrays: unlabeled samples.
 */
export const jsonLoader: DataLoader = {
  id: "json",
  detect: (path) => /\.json$/i.test(nameWithoutGz(path)),
  load: loadJson,
};

async function loadJson(path: string, options: LoadOptions): Promise<Dataset> {
  const text = new TextDecoder("utf-8").decode(await readDataFile(path));
  let root: unknown;
  try {
    root = parseBoundedJson(path, "a JSON text", text);
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    throw new ModelFileError(path, `is not valid JSON (${(error as Error).message})`);
  }
  if (Array.isArray(root)) {
    if (root.length === 0) throw new ModelFileError(path, "is an empty array; expected one entry per sample");
    if (isRecord(root[0])) return fromRecords(root, path, options);
    const x = numericTensor(root, path, "the samples");
    return {
      x: Float32Array.from(x.values),
      xShape: asRows(x.shape),
      task: "unlabeled",
      source: path,
      notes: ["an array of samples without labels"],
    };
  }
  if (isRecord(root)) return fromColumns(root, path, options);
  throw new ModelFileError(path, 'expected {"x": [...], "y": [...]}, an array of records, or an array of samples');
}

function fromColumns(root: Record<string, unknown>, path: string, options: LoadOptions): Dataset {
  const xKey = options.xKey ?? "x";
  const keys =
    Object.keys(root)
      .map((k) => `"${k}"`)
      .join(", ") || "none";
  if (!(xKey in root)) throw new ModelFileError(path, `has no "${xKey}" key for the features (keys found: ${keys})`);
  const x = numericTensor(root[xKey], path, `"${xKey}"`);
  const dataset: Dataset = {
    x: Float32Array.from(x.values),
    xShape: asRows(x.shape),
    task: "unlabeled",
    source: path,
    notes: [],
  };
  if (options.label === null) return dataset;
  const yKey = String(options.label ?? "y");
  if (!(yKey in root)) {
    if (options.label !== undefined)
      throw new ModelFileError(path, `has no "${yKey}" key for the labels (keys found: ${keys})`);
    return { ...dataset, notes: [`no "y" key: the data is unlabeled`] };
  }
  const labels = labelsOf(root[yKey], path, `"${yKey}"`, options);
  checkSameLength(x.shape[0]!, labels, path, `"${xKey}"`, `"${yKey}"`);
  const result: Dataset = { ...dataset, ...labels, labelName: yKey, labelSource: `key "${yKey}"` };
  const names = root["classes"];
  if (names !== undefined && result.task === "classification") {
    if (!Array.isArray(names) || !names.every((n) => typeof n === "string"))
      throw new ModelFileError(path, '"classes" must be an array of class names');
    if (names.length < result.classes!.length)
      throw new ModelFileError(
        path,
        `"classes" names ${names.length} classes but the labels use ${result.classes!.length}`,
      );
    result.classes = names as string[];
  }
  return result;
}

function fromRecords(records: unknown[], path: string, options: LoadOptions): Dataset {
  const first = records[0] as Record<string, unknown>;
  const labelKey =
    options.label === null
      ? undefined
      : String(options.label ?? ("label" in first ? "label" : "y" in first ? "y" : "label"));
  if (labelKey !== undefined && !(labelKey in first))
    throw new ModelFileError(
      path,
      `record 0 has no label key "${labelKey}" (keys: ${Object.keys(first)
        .map((k) => `"${k}"`)
        .join(", ")})`,
    );
  const featureKeys = Object.keys(first).filter((k) => k !== labelKey);
  if (featureKeys.length === 0) throw new ModelFileError(path, "records have a label but no features");
  const single = featureKeys.length === 1 && Array.isArray(first[featureKeys[0]!]);
  const rows: number[] = [];
  let sampleShape: number[] | undefined;
  const labels: unknown[] = [];
  records.forEach((record, i) => {
    if (!isRecord(record)) throw new ModelFileError(path, `entry ${i} is not a record like entry 0`);
    for (const key of [...featureKeys, ...(labelKey === undefined ? [] : [labelKey])])
      if (!(key in record)) throw new ModelFileError(path, `record ${i} has no "${key}"`);
    if (single) {
      const t = numericTensor(record[featureKeys[0]!], path, `record ${i} "${featureKeys[0]}"`);
      if (sampleShape && formatShape(sampleShape) !== formatShape(t.shape))
        throw new ModelFileError(
          path,
          `record ${i} "${featureKeys[0]}" has shape ${formatShape(t.shape)}; expected ${formatShape(sampleShape)} like record 0`,
        );
      sampleShape = t.shape;
      for (const v of t.values) rows.push(v);
    } else {
      for (const key of featureKeys) {
        const v = record[key];
        if (typeof v !== "number" || !Number.isFinite(v))
          throw new ModelFileError(
            path,
            `record ${i}, "${key}": ${JSON.stringify(v)} is not a number (features must be numeric)`,
          );
        rows.push(v);
      }
    }
    if (labelKey !== undefined) labels.push(record[labelKey]);
  });
  const n = records.length;
  const xShape = [n, ...(single ? sampleShape! : [featureKeys.length])];
  const dataset: Dataset = {
    x: Float32Array.from(rows),
    xShape: asRows(xShape),
    task: "unlabeled",
    source: path,
    notes: [],
  };
  if (labelKey === undefined) return dataset;
  return {
    ...dataset,
    ...labelsOf(labels, path, `"${labelKey}"`, options),
    labelName: labelKey,
    labelSource: `key "${labelKey}"`,
  };
}

function labelsOf(value: unknown, path: string, what: string, options: LoadOptions): Labels {
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string"))
    return labelsFromStrings(value as string[], path, options, `key ${what}`);
  const t = numericTensor(value, path, what);
  return labelsFromNumbers(t.values, t.shape, path, options, `key ${what}`);
}

function checkSameLength(n: number, labels: Labels, path: string, xName: string, yName: string): void {
  const m = labels.yShape![0]!;
  if (m !== n)
    throw new ModelFileError(
      path,
      `${xName} has ${n} samples but ${yName} has ${m} labels; expected one label per sample`,
    );
}

/** Shape and flat values of a rectangular nested array of finite numbers (booleans count as 0/1). */
function numericTensor(value: unknown, path: string, what: string): { shape: number[]; values: number[] } {
  if (!Array.isArray(value) || value.length === 0) throw new ModelFileError(path, `${what} must be a non-empty array`);
  const shape: number[] = [];
  for (let v: unknown = value; Array.isArray(v); v = v[0]) shape.push(v.length);
  const values: number[] = [];
  const walk = (v: unknown, depth: number, where: string) => {
    if (depth === shape.length) {
      const num = typeof v === "boolean" ? Number(v) : v;
      if (typeof num !== "number" || !Number.isFinite(num))
        throw new ModelFileError(path, `${what}${where}: ${JSON.stringify(v)} is not a number`);
      values.push(num);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth])
      throw new ModelFileError(
        path,
        `${what}${where} has ${Array.isArray(v) ? `length ${v.length}` : "no array"}; expected ${shape[depth]} entries (arrays must be rectangular)`,
      );
    v.forEach((item, i) => walk(item, depth + 1, `${where}[${i}]`));
  };
  walk(value, 0, "");
  return { shape, values };
}

function asRows(shape: number[]): number[] {
  return shape.length === 1 ? [shape[0]!, 1] : shape;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
