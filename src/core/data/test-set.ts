/** The user's own held-out rows (`--test`): checked against the learning data, classes numbered as the data numbers them. */
import { ModelFileError } from "../errors.js";
import { type Dataset, featureCount, sampleCount } from "./dataset.js";
import { DEFAULT_SPLIT, splitDataset, withoutTest, type DatasetSplit, type SplitFractions } from "./split.js";

/**
 * `test` as the learning data `data` reads: the same number of features, the same kind of labels, and class names
 * mapped to the data's class indices (string labels are numbered per file). Throws a ModelFileError naming `file`.
 */
export function matchingTestSet(test: Dataset, data: Dataset, file: string): Dataset {
  const fail = (what: string) => {
    throw new ModelFileError(file, `${what}; expected held-out rows like the learning data ${data.source}`);
  };
  if (featureCount(test) !== featureCount(data))
    fail(`rows have ${featureCount(test)} features, the learning data's ${featureCount(data)}`);
  const labels = (d: Dataset) => (d.task === "unlabeled" ? "no labels" : `${d.task} labels`);
  if (test.task !== data.task) fail(`has ${labels(test)} where the learning data has ${labels(data)}`);
  if (data.task === "regression") {
    const width = (d: Dataset) => (d.yShape ?? []).slice(1).reduce((a, b) => a * b, 1);
    if (width(test) !== width(data))
      fail(`labels have ${width(test)} values per row, the learning data's ${width(data)}`);
    return test;
  }
  if (data.task !== "classification" || test.y === undefined || !test.classes || !data.classes) return test;
  const index = new Map(data.classes.map((c, i) => [c, i]));
  const remap = test.classes.map((c) => index.get(c));
  const unknown = test.classes.findIndex((_, i) => remap[i] === undefined && test.y!.includes(i));
  if (unknown !== -1) fail(`has class "${test.classes[unknown]}", which the learning data does not have`);
  if (remap.every((to, from) => to === from)) return test;
  const y = Int32Array.from(test.y, (v) => remap[v]!);
  return { ...test, y, classes: data.classes };
}

/** The bytes of row `r` of `x` (`width` features) as 32-bit words, hashed (FNV-1a over the words). */
function rowHash(words: Uint32Array, r: number, width: number): number {
  let h = 0x811c9dc5;
  for (let i = r * width, end = i + width; i < end; i++) h = Math.imul(h ^ words[i]!, 0x01000193);
  return h >>> 0;
}

function sameRow(a: Uint32Array, ra: number, b: Uint32Array, rb: number, width: number): boolean {
  for (let i = 0; i < width; i++) if (a[ra * width + i] !== b[rb * width + i]) return false;
  return true;
}

/** How many rows of `test` are, feature for feature, also rows of `data` (memory: one hash per test row). */
export function rowsAlsoIn(test: Dataset, data: Dataset): number {
  const width = featureCount(test);
  if (width !== featureCount(data) || width === 0) return 0;
  const t = new Uint32Array(test.x.buffer, test.x.byteOffset, test.x.length);
  const d = new Uint32Array(data.x.buffer, data.x.byteOffset, data.x.length);
  const byHash = new Map<number, number[]>();
  for (let r = 0; r < sampleCount(test); r++) {
    const h = rowHash(t, r, width);
    const rows = byHash.get(h);
    if (rows) rows.push(r);
    else byHash.set(h, [r]);
  }
  const found = new Set<number>();
  for (let r = 0; r < sampleCount(data) && found.size < sampleCount(test); r++) {
    const rows = byHash.get(rowHash(d, r, width));
    if (rows) for (const tr of rows) if (!found.has(tr) && sameRow(t, tr, d, r, width)) found.add(tr);
  }
  return found.size;
}

export interface SplitOutcome {
  split: DatasetSplit;
  /** Said in the report when rows of the --test file are also rows of the learning data. */
  warning?: string;
}

/**
 * A job's split: the data into learn, validation and test; or, with the user's own test rows (`--test`), the data
 * into learn and validation only (in the same proportion) and those rows as the test split.
 */
export function jobSplit(
  data: Dataset,
  own: { dataset: Dataset; file: string } | undefined,
  seed = 0,
  fractions: SplitFractions = DEFAULT_SPLIT.fractions,
): SplitOutcome {
  const split = splitDataset(data, { seed, fractions: own ? withoutTest(fractions) : fractions });
  if (!own) return { split };
  const test = matchingTestSet(own.dataset, data, own.file);
  split.test = test;
  split.sizes.test = sampleCount(test);
  split.indices.test = new Int32Array(0);
  const shared = rowsAlsoIn(test, data);
  if (shared === 0) return { split };
  const which =
    shared === sampleCount(test)
      ? "every test row is also a row"
      : `${shared} of ${sampleCount(test)} test rows are also rows`;
  return {
    split,
    warning: `${own.file}: ${which} of the learning data ${data.source}: the test scores are not of held-out rows.`,
  };
}
