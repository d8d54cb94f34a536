/** The user's own held-out rows (`--test`): checked against the learning data, classes numbered as the data numbers them. */
import { ModelFileError } from "../errors.js";
import { type Dataset, featureCount } from "./dataset.js";

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
