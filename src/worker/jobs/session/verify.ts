/**
 * What you see is what you get: the written model is read back through the normal reader (as `evaluate` reads a
 * model: openModel, the model its file records, its tensors by name) and scored on the test split; the report's
 * merged-model figures become the file's, and a file that scores otherwise than the soup that was judged is removed
 * and refused.
 */
import * as tf from "@tensorflow/tfjs";
import { nameMapping } from "../../../core/architecture/index.js";
import { withModels } from "../../../core/soup/merge-files.js";
import { removeSavedSoup } from "../../../core/soup/save.js";
import { readRecipe, writeRecipe } from "../../../core/recipe/recipe.js";
import type { MetricPair, SoupReport } from "../../../protocol/worker.js";
import type { Task } from "../../learn/loss.js";
import type { SoupData } from "../../learn/problem.js";
import { metricPair, predictAll, scorePredictions, type Score } from "../../evaluate/score.js";
import { bindWeights, buildModel, finalOutputModel } from "../../runtime/index.js";
import type { Cancellation } from "../../../core/cancellation.js";
import type { LoadedProblem } from "./problem.js";

/** Relative tolerance on the loss between the soup judged and its file (float32 merge arithmetic differs slightly). */
export const WRITTEN_LOSS_TOLERANCE = 1e-4;

/** The test score of the model file at `path`, read through the reader, run as its own file records it. */
export async function scoreWrittenModel(
  loaded: LoadedProblem,
  path: string,
  test: SoupData,
  task: Task,
  cancel?: Cancellation,
): Promise<Score> {
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
      const pred = await predictAll(model, test.x, 1024, cancel);
      try {
        return scorePredictions(task, pred, test.y!);
      } finally {
        pred.dispose();
      }
    } finally {
      own?.dispose();
    }
  });
}

export function sameLoss(a: number, b: number): boolean {
  return Math.abs(a - b) <= WRITTEN_LOSS_TOLERANCE * Math.max(Math.abs(a), Math.abs(b)) + 1e-7;
}

/**
 * Scores the written model (report.output) on the labelled test split; makes the report's (and the recipe's)
 * merged figures the file's; removes the output and throws an internal error naming both figures when the file's
 * loss differs from the judged soup's.
 */
export async function checkWrittenSoup(
  report: SoupReport,
  loaded: LoadedProblem,
  test: SoupData,
  task: Task,
  cancel?: Cancellation,
): Promise<void> {
  const output = report.output;
  if (output === undefined || test.y === undefined || test.x.shape[0] === 0) return;
  let file: Score;
  try {
    file = await scoreWrittenModel(loaded, output.model, test, task, cancel);
  } catch (error) {
    await removeSavedSoup(output);
    throw error;
  }
  const judged = report.metrics.merged;
  if (!sameLoss(file.loss, judged.loss)) {
    await removeSavedSoup(output);
    delete report.output;
    throw new Error(
      `the written model ${output.model} scores test loss ${file.loss} (${report.metricName} ${file.metric}) where the soup judged scored ${judged.loss} (${judged.metric}); nothing was kept`,
    );
  }
  const figures: MetricPair = metricPair(file);
  report.metrics.merged = figures;
  const recipe = await readRecipe(output.recipe);
  const metrics = recipe.metrics as { merged?: MetricPair } | undefined;
  if (metrics !== undefined && typeof metrics === "object") {
    await writeRecipe(output.recipe, { ...recipe, metrics: { ...metrics, merged: figures } });
  }
  if (report.record?.metrics !== undefined)
    report.record.metrics = { ...(report.record.metrics as object), merged: figures };
}
