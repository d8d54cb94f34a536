/**
 * What you see is what you get: the written model is read back through the normal reader (as `evaluate` reads a
 * model: openModel, the model its file records, its tensors by name) and scored on the split it was judged on; the
 * report's merged-model figures become the file's, and a file that scores otherwise than the soup that was judged is
 * removed and refused. Every job that writes a scored model checks it here: learn (by the loss, or by the prediction
 * entropy of a label-free soup), greedy, merge --method regmean/fisher, merge --align with REPAIR, and the editor's
 * save of a soup a job scored (its record's metrics).
 */
import * as tf from "@tensorflow/tfjs";
import { nameMapping } from "../../../core/architecture/index.js";
import { withModels } from "../../../core/soup/merge-files.js";
import { checkSavedSoup, type SavedSoup, type SavedSoupCheck } from "../../../core/soup/save.js";
import type { MetricPair, SoupReport } from "../../../protocol/worker.js";
import { sampleEntropy, type Task } from "../../learn/loss.js";
import type { SoupData } from "../../learn/problem.js";
import { metricPair, predictAll, scorePredictions } from "../../evaluate/score.js";
import { bindWeights, buildModel, finalOutputModel } from "../../runtime/index.js";
import type { Cancellation } from "../../../core/cancellation.js";
import type { LoadedProblem } from "./problem.js";

/** Relative tolerance on the loss between the soup judged and its file (float32 merge arithmetic differs slightly). */
export const WRITTEN_LOSS_TOLERANCE = 1e-4;

/**
 * How a soup was judged: by its loss (and metric) on labelled rows, or, label-free, by the mean entropy of its
 * predictions (the figure a label-free report gives as both loss and metric).
 */
export interface Judgement {
  task: Task;
  by: "labels" | "entropy";
}

/** The predictions of the model file at `path` on `x`, read through the reader, run as its own file records it. */
async function withWrittenPredictions<T>(
  loaded: LoadedProblem,
  path: string,
  x: tf.Tensor,
  use: (pred: tf.Tensor) => T,
  cancel?: Cancellation,
): Promise<T> {
  return withModels([path], async ([file]) => {
    const manifest = file!.manifest;
    // A weights-only file records no architecture: its tensors go into the ingredients' model, matched by name.
    const own = manifest.architecture ? await buildModel(manifest) : undefined;
    try {
      const bindings = own ? bindWeights(manifest, own) : loaded.bindings;
      const mapping = own ? undefined : nameMapping(loaded.manifest, manifest);
      for (const b of bindings) {
        const name = mapping ? mapping.get(b.tensor) : b.tensor;
        if (name === undefined) throw new Error(`the written model ${path} has no tensor for ${b.tensor}`);
        const values = (await file!.readTensor(name, { float32: true })).data as Float32Array;
        tf.tidy(() => {
          b.variable.write(tf.tensor(values, b.variable.shape as number[]));
        });
      }
      const model = own ? finalOutputModel(own, manifest.architecture!) : loaded.problem.model;
      const pred = await predictAll(model, x, 1024, cancel);
      try {
        return use(pred);
      } finally {
        pred.dispose();
      }
    } finally {
      own?.dispose();
    }
  });
}

/** The score of the model file at `path` on `data` as `judgement` scores: loss and metric, or mean entropy. */
export async function scoreWrittenModel(
  loaded: LoadedProblem,
  path: string,
  data: SoupData,
  judgement: Judgement,
  cancel?: Cancellation,
): Promise<MetricPair> {
  return withWrittenPredictions(
    loaded,
    path,
    data.x,
    (pred) => {
      if (judgement.by === "labels") return metricPair(scorePredictions(judgement.task, pred, data.y!));
      const entropy = tf.tidy(() => sampleEntropy(judgement.task, pred).mean().dataSync()[0]!);
      return { loss: entropy, metric: entropy };
    },
    cancel,
  );
}

export function sameLoss(a: number, b: number): boolean {
  return Math.abs(a - b) <= WRITTEN_LOSS_TOLERANCE * Math.max(Math.abs(a), Math.abs(b)) + 1e-7;
}

/** Whether `data` can judge a written soup as `judgement` does (rows, and labels when judged by them). */
function canJudge(data: SoupData, judgement: Judgement): boolean {
  return data.x.shape[0]! > 0 && (judgement.by === "entropy" || data.y !== undefined);
}

/**
 * The check saveSoup runs on the written soup (under the output lock): scores the file on `data` and compares its
 * loss with `judged`; throws an internal error naming both figures when they differ beyond float tolerance (the soup
 * is then removed); otherwise `onFile` receives the file's figures and the recipe's metrics.merged becomes them.
 * Undefined when `data` cannot judge.
 */
export function writtenModelCheck(
  loaded: LoadedProblem,
  data: SoupData,
  judgement: Judgement | undefined,
  judged: () => MetricPair | undefined,
  onFile: (figures: MetricPair) => void,
  what: { metricName: string; split: string },
  cancel?: Cancellation,
): SavedSoupCheck | undefined {
  if (judgement === undefined || !canJudge(data, judgement)) return undefined;
  return async (saved: SavedSoup, metrics: unknown) => {
    const expected = judged();
    if (expected === undefined) return metrics;
    const file = await scoreWrittenModel(loaded, saved.model, data, judgement, cancel);
    if (!sameLoss(file.loss, expected.loss)) {
      const figure = judgement.by === "entropy" ? "mean prediction entropy" : "loss";
      throw new Error(
        `the written model ${saved.model} scores ${what.split} ${figure} ${file.loss} (${what.metricName} ${file.metric}) where the soup judged scored ${expected.loss} (${expected.metric}); nothing was kept`,
      );
    }
    onFile(file);
    return metrics !== null && typeof metrics === "object" && "merged" in metrics
      ? { ...metrics, merged: file }
      : metrics;
  };
}

/** How a soup report was judged: by entropy when it is label-free, else by its task's loss. */
export function judgementOf(report: Pick<SoupReport, "metricName">, task: Task | undefined): Judgement | undefined {
  if (task === undefined) return undefined;
  return { task, by: report.metricName === "entropy" ? "entropy" : "labels" };
}

/**
 * The written-file check of a soup report on its test split: the report's merged figures (and its record's) become
 * the file's.
 */
export function writtenSoupCheck(
  report: SoupReport,
  loaded: LoadedProblem,
  test: SoupData,
  task: Task | undefined,
  cancel?: Cancellation,
): SavedSoupCheck | undefined {
  return writtenModelCheck(
    loaded,
    test,
    judgementOf(report, task),
    () => report.metrics.merged,
    (figures) => {
      report.metrics.merged = figures;
      if (report.record?.metrics !== undefined)
        report.record.metrics = { ...(report.record.metrics as object), merged: figures };
    },
    { metricName: report.metricName, split: "test" },
    cancel,
  );
}

/**
 * The same check on a soup report's output written earlier (report.output), under its folder's lock: on a
 * difference the output is removed (and report.output with it) and the error thrown.
 */
export async function checkWrittenSoup(
  report: SoupReport,
  loaded: LoadedProblem,
  test: SoupData,
  task: Task,
  cancel?: Cancellation,
): Promise<void> {
  const output = report.output;
  const check = writtenSoupCheck(report, loaded, test, task, cancel);
  if (output === undefined || check === undefined) return;
  try {
    await checkSavedSoup({ ...output, warnings: [] }, check);
  } catch (error) {
    delete report.output;
    throw error;
  }
}
