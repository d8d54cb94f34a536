/** Recipe replays: the recipe's merge again, with its data statistics recomputed when its method needs them. */
import { applyRecipe } from "../../core/soup/save.js";
import type { ApplyParams, MergeResult } from "../../protocol/worker.js";
import type { JobContext } from "../../core/job-context.js";
import { recipeStatistics } from "./recipe-statistics.js";

export async function runApply(params: ApplyParams, context: JobContext): Promise<MergeResult> {
  const started = performance.now();
  const saved = await applyRecipe(params.recipe, params.out, {
    statistics: (recipe, spec, path) => recipeStatistics(recipe, spec, path, context),
    cancel: context.token,
    onProgress: (step, totalSteps, unit) =>
      context.progress({ jobId: params.jobId, phase: "writing", step, totalSteps, unit }),
  });
  return { ...saved, seconds: (performance.now() - started) / 1000 };
}
