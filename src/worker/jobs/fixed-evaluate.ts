/**
 * The `fixedEvaluate` request: a fixed merge (weighted average, task arithmetic, TIES, DARE, SLERP, Model Stock,
 * TSV-M, ...) made in memory from the same description `merge` writes, scored on the test split beside the
 * ingredients, the uniform soup and the ensemble; optionally one parameter swept on the validation split first.
 */
import { UsageError } from "../../core/errors.js";
import { prepareMerge } from "../../core/merge/plan.js";
import { specOf } from "../../core/soup/fixed-merge.js";
import { resolveJobModels } from "../../core/soup/job-inputs.js";
import type { JobContext } from "../../core/job-context.js";
import { sweptWeights } from "../../protocol/fixed-methods.js";
import type { FixedEvaluateParams, MetricPair, SoupReport, SweepReport } from "../../protocol/worker.js";
import { taskFor } from "../evaluate/evaluate.js";
import { metricPair, predictAll, scorePredictions } from "../evaluate/score.js";
import type { Task } from "../learn/loss.js";
import type { SoupData } from "../learn/problem.js";
import { writeIngredient } from "../stats/index.js";
import { references, scoreCurrent } from "./session/data-aware-merge.js";
import { mergeabilityReport } from "./session/report.js";
import { closeSession, openSession, splitSizes, type Session } from "./session/session.js";
import { soupRecord } from "./session/write.js";

interface MergeChoice {
  coefficients?: number[];
  params: Record<string, number>;
}

/** Every variable's merged values, from the description `merge` would write (the base read from the session). */
function mergedValues(session: Session, params: FixedEvaluateParams, choice: MergeChoice, warnings: string[]) {
  const { problem, bindings } = session.loaded;
  const baseIndex = params.base === undefined ? -1 : params.models.indexOf(params.base);
  if (params.base !== undefined && baseIndex < 0)
    throw new UsageError(`the base model ${params.base} is not among the models of the merge`);
  const merged = params.models.filter((_, i) => i !== baseIndex);
  const { spec } = specOf({
    models: merged,
    method: params.method,
    ...(choice.coefficients !== undefined ? { coefficients: choice.coefficients } : {}),
    ...(params.base !== undefined ? { base: params.base } : {}),
    params: choice.params,
  });
  const prepared = prepareMerge(spec);
  const indices = params.models.map((_, i) => i).filter((i) => i !== baseIndex);
  return bindings.map(
    (b, k) =>
      prepared.mergeTensor({
        info: { name: b.tensor, layer: b.layer, shape: b.variable.shape as number[], dtype: "float32" },
        ingredients: indices.map((i) => problem.ingredients[i]![k]!),
        ...(baseIndex >= 0 ? { base: problem.ingredients[baseIndex]![k]! } : {}),
        warn: (w) => warnings.push(w),
      }) as Float32Array,
  );
}

async function scoreOn(session: Session, split: SoupData, task: Task, context: JobContext): Promise<MetricPair> {
  if (split.y === undefined) throw new UsageError("the sweep scores labelled data; the data has no labels");
  const pred = await predictAll(session.loaded.problem.model, split.x, 1024, context.token);
  try {
    return metricPair(scorePredictions(task, pred, split.y));
  } finally {
    pred.dispose();
  }
}

/** The choice with the swept parameter at `value`. */
function sweptChoice(params: FixedEvaluateParams, base: MergeChoice, value: number): MergeChoice {
  const sweep = params.sweep!;
  if (sweep.name !== "weight") return { ...base, params: { ...base.params, [sweep.name]: value } };
  const models = params.models.filter((m) => m !== params.base);
  const index = models.indexOf(sweep.ingredient ?? models[0]!);
  if (index < 0) throw new UsageError(`the swept ingredient ${sweep.ingredient} is not among the models`);
  const weights = base.coefficients ?? models.map(() => 1);
  return { ...base, coefficients: sweptWeights(weights, index, value) };
}

export async function runFixedEvaluate(given: FixedEvaluateParams, context: JobContext): Promise<SoupReport> {
  const params = await resolveJobModels(given);
  const session = await openSession(params, context);
  try {
    const { loaded, data } = session;
    const task = taskFor(loaded.problem, data.test, { trainingConfig: loaded.trainingConfig });
    const warnings = [...loaded.warnings];
    const choice: MergeChoice = {
      ...(params.coefficients !== undefined ? { coefficients: params.coefficients } : {}),
      params: params.params ?? {},
    };
    let sweep: SweepReport | undefined;
    // The sweep scores labelled rows; without labels it is left out.
    if (params.sweep !== undefined && data.validation.y !== undefined) {
      const points: SweepReport["points"] = [];
      for (const [i, value] of params.sweep.values.entries()) {
        context.progress({
          jobId: params.jobId,
          phase: "evaluating",
          step: i,
          totalSteps: params.sweep.values.length,
          message: `${params.sweep.name} = ${value} on the validation split`,
        });
        writeIngredient(loaded.problem, mergedValues(session, params, sweptChoice(params, choice, value), []));
        points.push({ value, ...(await scoreOn(session, data.validation, task, context)) });
      }
      const best = points.reduce((a, b) => (b.loss < a.loss ? b : a)).value;
      sweep = {
        name: params.sweep.name,
        ...(params.sweep.ingredient !== undefined ? { ingredient: params.sweep.ingredient } : {}),
        points,
        best,
      };
    }
    writeIngredient(loaded.problem, mergedValues(session, params, choice, warnings));
    const merged = await scoreCurrent(session, task, context);
    const refs = await references(session, task, context);
    const { pairs, warnings: mergeWarnings } = await mergeabilityReport(loaded, data, params.models, context);
    const report: SoupReport = {
      backend: session.backend,
      method: params.method,
      coefficients: choice.coefficients ?? [],
      metricName: refs.metricName,
      metrics: {
        ingredients: params.models.map((model, i) => ({ model, ...refs.ingredients[i]! })),
        uniform: refs.uniform,
        merged,
        ensemble: refs.ensemble,
      },
      mergeability: pairs,
      split: splitSizes(data),
      ...("classCounts" in refs && refs.classCounts !== undefined ? { testClassCounts: refs.classCounts } : {}),
      warnings: [...warnings, ...mergeWarnings],
      seconds: 0,
      ...(sweep !== undefined ? { sweep } : {}),
    };
    report.record = await soupRecord(report, session, params.data, { origin: "manual" }, task);
    report.seconds = (performance.now() - session.started) / 1000;
    return report;
  } finally {
    closeSession(session);
  }
}
