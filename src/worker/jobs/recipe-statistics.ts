/** The statistics `apply` recomputes for a RegMean, RegMean++ or Fisher recipe. */
import { dirname, isAbsolute, resolve } from "node:path";
import { ModelFileError } from "../../core/errors.js";
import { type MergeStatistics } from "../../core/merge/plan.js";
import type { MergeSpec } from "../../core/merge/spec.js";
import { sha256File } from "../../core/recipe/hash.js";
import type { Recipe } from "../../core/recipe/recipe.js";
import { checkArchitecture } from "../../core/soup/save.js";
import type { DataAwareMethod, DataSpec, FisherTarget } from "../../protocol/worker.js";
import { recordedLossChoice } from "../learn/loss-choice.js";
import { computeStatistics } from "../stats/index.js";
import type { JobContext } from "../../core/job-context.js";

import { closeSession, openSession } from "./session/session.js";
import { statisticsChoices, statisticsTask } from "./session/data-aware-merge.js";
import { torchStatistics, torchStatisticsTask } from "./torch/data-aware.js";
import { torchModelFor } from "./torch/engine-choice.js";
import { closeTorchSession, openTorchSession } from "./torch/session.js";

/**
 * `apply` of a RegMean or Fisher recipe: the statistics again, from the recipe's models and its recorded data (whose
 * SHA-256 must match), with the recorded split and backend.
 */
export async function recipeStatistics(
  recipe: Recipe,
  spec: MergeSpec,
  recipePath: string,
  context: JobContext,
): Promise<MergeStatistics> {
  const record = recipe.data;
  if (record === undefined)
    throw new ModelFileError(
      recipePath,
      `a ${spec.method} recipe records the data its statistics came from; this one has none`,
    );
  const path = isAbsolute(record.path) ? record.path : resolve(dirname(recipePath), record.path);
  const actual = await sha256File(path).catch((error: Error) => {
    throw new ModelFileError(
      path,
      `is the data the recipe ${recipePath} was made with and cannot be read (${error.message})`,
    );
  });
  if (actual !== record.sha256) {
    throw new ModelFileError(
      path,
      `has changed since the recipe ${recipePath} was written (SHA-256 ${actual}, the recipe expects ${record.sha256}); ${spec.method} needs the same data`,
    );
  }
  // The recorded fractions are those of the split made (no test part when the user gave their own test rows).
  const dataSpec: DataSpec = {
    path,
    ...(record.label !== undefined ? { label: record.label } : {}),
    ...(record.scale !== undefined ? { scale: record.scale } : {}),
    ...(record.inputKey !== undefined ? { inputKey: record.inputKey } : {}),
    ...(record.seed !== undefined ? { seed: record.seed } : {}),
    ...(record.fractions !== undefined ? { fractions: record.fractions as DataSpec["fractions"] } : {}),
    ...(record.maxRows !== undefined ? { maxRows: record.maxRows } : {}),
  };
  const method = spec.method as DataAwareMethod;
  const recorded = recipe.learning?.statistics as { examples?: number; target?: FisherTarget } | undefined;
  const models = spec.ingredients.map((g) => g.path);
  const loss = recordedLossChoice(record.loss);
  const recordedArchitecture = recipe.learning?.architecture;
  const torch = await torchModelFor(
    models,
    typeof recordedArchitecture === "string" ? recordedArchitecture : undefined,
  );
  if (torch !== undefined) {
    const session = await openTorchSession({ models, data: dataSpec, loss }, torch, context);
    try {
      const choices = statisticsChoices(
        method,
        { examples: recorded?.examples, fisherTarget: recorded?.target },
        session.data.split.learn.y !== undefined,
      );
      const { statistics } = await torchStatistics(session, {
        method,
        task: torchStatisticsTask(session, loss),
        ...(spec.params.alpha !== undefined ? { alpha: spec.params.alpha as number } : {}),
        ...choices,
      });
      return statistics;
    } finally {
      await closeTorchSession(session);
    }
  }
  const backend = (["tfjs-node", "wasm", "cpu"] as const).find((b) => b === recipe.backend);
  const architecture = recipe.architecture ? await checkArchitecture(recipePath, recipe.architecture) : undefined;
  const session = await openSession(
    {
      models,
      data: dataSpec,
      backend: backend,
      jobId: undefined,
      loss,
      architecture: architecture,
    },
    context,
  );
  try {
    const examples = recorded?.examples;
    const { statistics } = await computeStatistics(session.loaded.problem, session.data.learn, method, {
      tensorNames: session.loaded.bindings.map((b) => b.tensor),
      task: statisticsTask(session),
      ...(examples !== undefined ? { examples } : {}),
      ...(recorded?.target !== undefined ? { fisherTarget: recorded.target } : {}),
      ...(spec.params.alpha !== undefined ? { alpha: spec.params.alpha as number } : {}),
      cancel: context.token,
    });
    return statistics;
  } finally {
    closeSession(session);
  }
}
