/** The `compare` request: `evaluate --methods`, every method side by side on one test split. */
import { UsageError } from "../../core/errors.js";
import type { CompareParams, EvaluateReport } from "../../protocol/worker.js";
import { type ComparedMethod } from "../../protocol/choices.js";
import { taskFor } from "../evaluate/evaluate.js";
import { greedySoupRow } from "../evaluate/rows.js";
import { learnOnTfjs } from "../engine/tfjs-learn.js";
import { writeIngredient } from "../stats/index.js";
import type { JobContext } from "../../core/job-context.js";
import { splitReport as splitSizes } from "./session/data.js";
import { resolveJobModels } from "../../core/soup/job-inputs.js";

import { closeSession, openSession, plainSessionParams } from "./session/session.js";
import { torchModelFor } from "./torch/engine-choice.js";
import { runTorchCompare } from "./torch/compare.js";
import { mergeabilityReport } from "./session/report.js";
import { scoreMethods } from "./compare-methods.js";
import {
  baseMethodValues,
  dataAwareMerge,
  isBaseMethod,
  METHOD_NAMES,
  readBaseValues,
  references,
  scoreCandidate,
  scoreCurrent,
} from "./session/data-aware-merge.js";

/** The order of the comparison's rows. */
const COMPARE_ORDER = [
  "greedy",
  "learned",
  "regmean",
  "fisher",
  "regmean_plusplus",
  "tsv_m",
  "iso_c",
  "iso_cts",
  "wudi",
] as const satisfies readonly ComparedMethod[];

/**
 * `evaluate --methods`: each ingredient, the uniform soup and the ensemble, and every requested method (greedy
 * soup chosen on validation, learned soup with the learner's defaults, RegMean, Fisher) on the same test split.
 */
export async function runCompare(given: CompareParams, context: JobContext): Promise<EvaluateReport> {
  const params = await resolveJobModels(given);
  const unknown = params.methods.filter((m) => !(COMPARE_ORDER as readonly string[]).includes(m));
  if (unknown.length > 0)
    throw new UsageError(`unknown method(s) to compare: ${unknown.join(", ")}; expected ${COMPARE_ORDER.join(", ")}`);
  const needsBase = params.methods.filter((m) => isBaseMethod(m));
  if (needsBase.length > 0 && params.base === undefined)
    throw new UsageError(`${needsBase.join(", ")} merge fine-tunes of one base model: give it (--base)`);
  const torch = await torchModelFor(params.models, params.architecture);
  if (torch !== undefined) return runTorchCompare(params, COMPARE_ORDER, torch, context);
  const session = await openSession(plainSessionParams(params), context);
  try {
    const { loaded, data } = session;
    const task = taskFor(loaded.problem, data.test, { trainingConfig: loaded.trainingConfig });
    const warnings = [...loaded.warnings];
    let baseValues: Float32Array[] | undefined;
    const methods = await scoreMethods(
      COMPARE_ORDER.filter((m) => params.methods.includes(m)),
      {
        greedy: async () => {
          const greedy = await greedySoupRow(loaded.problem, task, data, { cancel: context.token });
          return scoreCandidate(session, greedy.candidate, task, context);
        },
        learned: async () => {
          const learned = await learnOnTfjs(loaded.problem, data.learn, data.validation, {
            seed: params.data.seed ?? 0,
            trainingConfig: loaded.trainingConfig,
            cancel: context.token,
          });
          const mix = { coefficients: learned.coefficients, groups: learned.groups };
          const candidate = {
            mix,
            ...(learned.batchNormStatistics ? { statistics: learned.batchNormStatistics } : {}),
          };
          return scoreCandidate(session, candidate, task, context);
        },
        base: async (method) => {
          baseValues ??= await readBaseValues(params.models, params.base!);
          writeIngredient(
            loaded.problem,
            baseMethodValues(session, method, params.models, params.base!, baseValues, warnings),
          );
          return scoreCurrent(session, task, context);
        },
        dataAware: async (method) => {
          const merge = await dataAwareMerge(session, method, params.models, params, context, params.jobId);
          warnings.push(...merge.warnings.map((w) => `${METHOD_NAMES[method]}: ${w}`));
          writeIngredient(loaded.problem, merge.values);
          return scoreCurrent(session, task, context);
        },
      },
      context,
      params.jobId,
    );
    const refs = await references(session, task, context);
    const { pairs, warnings: mergeWarnings } = await mergeabilityReport(loaded, data, params.models, context);
    return {
      backend: session.backend,
      metricName: task.metric,
      metrics: {
        ingredients: params.models.map((model, i) => ({ model, ...refs.ingredients[i]! })),
        uniform: refs.uniform,
        ensemble: refs.ensemble,
        methods,
      },
      mergeability: pairs,
      split: splitSizes(data),
      ...("classCounts" in refs ? { testClassCounts: refs.classCounts } : {}),
      warnings: [...warnings, ...mergeWarnings],
      seconds: (performance.now() - session.started) / 1000,
    };
  } finally {
    closeSession(session);
  }
}
