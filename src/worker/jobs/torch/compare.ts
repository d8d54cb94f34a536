/** `evaluate --methods` on PyTorch (jobs/compare.ts's report, through the engine): every method on one test split. */
import { UsageError } from "../../../core/errors.js";
import type { JobContext } from "../../../core/job-context.js";
import { prepareMerge } from "../../../core/merge/plan.js";
import type { BaseMethod, ComparedMethod } from "../../../protocol/choices.js";
import type { CompareParams, EvaluateReport, MetricPair } from "../../../protocol/worker.js";
import { metricPair } from "../../evaluate/score.js";
import { learnCoefficients } from "../../learn/learn.js";
import type { Task } from "../../learn/loss.js";
import { readIngredient, type IngredientTensors } from "../../torch/torch-engine.js";
import { METHOD_NAMES } from "../session/data-aware-merge.js";
import { scoreMethods } from "../compare-methods.js";
import { torchSplitReport } from "./data.js";
import { torchDataAwareMerge } from "./data-aware.js";
import { scoreMergedValues } from "./data-merge.js";
import type { TorchModel } from "./engine-choice.js";
import { labelledSplits, unlabelledFile } from "./learn.js";
import { runnableMethods } from "./method-support.js";
import { labelledComparison } from "./report.js";
import {
  compareOnTest,
  greedyEngineSoup,
  scoreWrittenOnTest,
  uniformEngineSoup,
  writeEngineSoup,
  type EngineSoup,
} from "./rows.js";
import { closeTorchSession, openTorchSession, outputUnits, type TorchSession } from "./session.js";
import { torchObjective } from "./task.js";

/** A soup's test score as it is written (its statistics included). */
async function scoreSoup(session: TorchSession, soup: EngineSoup, task: Task): Promise<MetricPair> {
  await writeEngineSoup(session.engine, soup);
  return metricPair(await scoreWrittenOnTest(session.engine, task, session.data.split.test, true));
}

/** A data-free merge of fine-tunes (TSV-M, Iso-C, ...) with its defaults: every merged tensor's values. */
function baseMethodValues(
  session: TorchSession,
  method: BaseMethod,
  base: IngredientTensors,
  warnings: string[],
): Float32Array[] {
  const prepared = prepareMerge({
    method,
    params: {},
    base: base.file,
    ingredients: session.models.map((path) => ({ path })),
  });
  const lookup = [...session.ingredients, base].map((ing) => new Map(ing.tensors.map((t) => [t.name, t])));
  return session.engine.mergedTensors.map(({ name }, k) => {
    const values = lookup.map((tensors, i) => {
      const t = tensors.get(name);
      const file = i < session.ingredients.length ? session.ingredients[i]!.file : base.file;
      if (t === undefined || !(t.data instanceof Float32Array))
        throw new UsageError(`${file} has no floating tensor ${name} that the model needs`);
      return t;
    });
    return prepared.mergeTensor({
      info: { name, layer: session.engine.layerOf[k]!, shape: [...values[0]!.shape], dtype: "float32" },
      ingredients: values.slice(0, -1).map((t) => t.data as Float32Array),
      base: values.at(-1)!.data as Float32Array,
      warn: (w) => warnings.push(`${METHOD_NAMES[method]}: ${w}`),
    }) as Float32Array;
  });
}

export async function runTorchCompare(
  params: CompareParams,
  order: readonly ComparedMethod[],
  model: TorchModel,
  context: JobContext,
): Promise<EvaluateReport> {
  // Refused before any work, or left out of the table with their reasons (--methods all).
  const { run, notRun } = runnableMethods(
    params,
    order.filter((m) => params.methods.includes(m)),
    model,
  );
  // The base is read apart from the session, whose greedy and learned soups stay the plain weighted averages.
  const { base: basePath, ...withoutBase } = params;
  const session = await openTorchSession(withoutBase, model, context);
  try {
    if (!labelledSplits(session))
      throw new UsageError(`${unlabelledFile(session, params.data)}: the comparison needs labelled rows`);
    const objective = torchObjective("supervised", session.labels, outputUnits(session), params.loss);
    const task = objective.task;
    const warnings: string[] = [];
    let base: IngredientTensors | undefined;
    const methods = await scoreMethods(
      run,
      {
        greedy: async () => scoreSoup(session, (await greedyEngineSoup(session.engine, objective)).soup, task),
        learned: async () => {
          const learned = await learnCoefficients(session.engine, objective, {
            seed: params.data.seed ?? 0,
            cancel: context.token,
          });
          const soup: EngineSoup = {
            mix: {
              coefficients: learned.coefficients,
              ...(learned.groups[0] !== "*" ? { groups: learned.groups } : {}),
            },
            ...(learned.batchNormStatistics !== undefined ? { statistics: learned.batchNormStatistics } : {}),
          };
          return scoreSoup(session, soup, task);
        },
        base: async (method) => {
          base ??= await readIngredient(basePath!);
          return scoreMergedValues(session, baseMethodValues(session, method, base, warnings), task, true);
        },
        dataAware: async (method) => {
          const merge = await torchDataAwareMerge(session, method, params, task, context, params.jobId);
          warnings.push(...merge.warnings.map((w) => `${METHOD_NAMES[method]}: ${w}`));
          return scoreMergedValues(session, merge.values, task, true);
        },
      },
      context,
      params.jobId,
    );
    const uniform = await uniformEngineSoup(session.engine, objective, true);
    const compared = await compareOnTest(session.engine, task, session.data.split.test, [uniform.soup], true);
    const rows = await labelledComparison(session, objective, compared);
    return {
      backend: session.backend,
      metricName: task.metric,
      metrics: {
        ingredients: rows.ingredients,
        uniform: rows.soups[0]!,
        ensemble: rows.ensemble,
        methods,
        ...(notRun.length > 0 ? { notRun } : {}),
      },
      mergeability: rows.mergeability,
      split: torchSplitReport(session.data),
      ...(rows.testClassCounts !== undefined ? { testClassCounts: rows.testClassCounts } : {}),
      warnings: [...session.warnings, ...warnings, ...rows.warnings],
      seconds: (performance.now() - session.started) / 1000,
    };
  } finally {
    await closeTorchSession(session);
  }
}
