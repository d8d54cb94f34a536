/**
 * Alignment jobs: `model-soup align` (write every model with its units permuted to match a reference, each with
 * a recipe) and `merge --align` (the merge of the aligned models); (the step learn and greedy take first is session/align.ts).
 */
import type { Permutations } from "../../core/align/index.js";
import { nameMapping } from "../../core/architecture/index.js";
import { UsageError } from "../../core/errors.js";
import { readManifest } from "../../core/formats/registry.js";
import type { ModelManifest } from "../../core/model.js";
import type { AlignParams, AlignResult, BackendName } from "../../protocol/worker.js";
import { dataRecord } from "../../core/recipe/data-record.js";
import { torchOnlyWarning, useBackend } from "./session/session.js";
import type { AlignmentOutcome } from "../align/align-problem.js";
import { repairSoup } from "../align/repair.js";
import { repairSummary } from "../align/report.js";
import type { Mix } from "../evaluate/soup.js";
import type { JobContext } from "../../core/job-context.js";
import { disposeJobData, loadJobData, type JobData } from "./session/data.js";
import { disposeProblem, loadProblem, type LoadedProblem } from "./session/problem.js";
import { alignLoaded } from "./session/align.js";
import { writtenModelCheck } from "./session/verify.js";
import { taskFor } from "../evaluate/evaluate.js";
import { metricPair } from "../evaluate/score.js";
import { torchModelFor } from "./torch/engine-choice.js";
import { runTorchAlign } from "./torch/align-job.js";
import { alignedMergeSpec, saveAlignedMerge, saveAlignedModels } from "../align/aligned-saves.js";

/**
 * REPAIR of a weighted average of aligned models (without BatchNormalization, with labelled data): undefined when
 * it does not apply; otherwise its validation scores, and the repaired tensors when it lowered the validation loss.
 */
async function repairMerge(
  loaded: LoadedProblem,
  outcome: AlignmentOutcome,
  coefficients: number[] | undefined,
  data: JobData,
  jobId: string | undefined,
  context: JobContext,
) {
  const n = loaded.problem.ingredients.length;
  const weights = coefficients ?? Array.from({ length: n }, () => 1);
  const total = weights.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined; // the merge itself refuses weights that cannot be normalised
  // The written merge divides by the weights' sum (linear, normalize); REPAIR must see the same soup.
  const mix: Mix = { coefficients: weights.map((w) => [w / total]) };
  context.progress({
    jobId,
    phase: "evaluating",
    step: 0,
    totalSteps: 0,
    message: "REPAIR: matching the merge's unit statistics to the models'",
  });
  return repairSoup(
    loaded.problem,
    outcome.plan,
    mix,
    data,
    loaded.bindings.map((b) => b.tensor),
    { trainingConfig: loaded.trainingConfig, cancel: context.token },
  );
}

/** The same permutations keyed by another model's layer names (models matched by structure name them differently). */
function rekey(permutations: Permutations, template: ModelManifest, own: ModelManifest): Permutations {
  const layerOf = new Map(own.tensors.map((t) => [t.name, t.layer]));
  const layers = new Map<string, string>();
  for (const [from, to] of nameMapping(template, own)) {
    const a = template.tensors.find((t) => t.name === from)?.layer;
    if (a !== undefined && !layers.has(a)) layers.set(a, layerOf.get(to)!);
  }
  return Object.fromEntries(Object.entries(permutations).map(([id, perm]) => [layers.get(id) ?? id, perm]));
}

export async function runAlign(params: AlignParams, context: JobContext): Promise<AlignResult> {
  const started = performance.now();
  if (!params.out) throw new UsageError("an output is required (--out)");
  const torch = await torchModelFor(params.models, params.architecture);
  if (torch !== undefined) return runTorchAlign(params, torch, context);
  if (params.align.method === "activation" && params.data === undefined)
    throw new UsageError("activation matching needs data (--data <file>)");
  const backend: BackendName = await useBackend(params.backend, context);
  const loaded = await loadProblem(params.models, undefined, params.architecture);
  const ignored = torchOnlyWarning(params, backend);
  if (ignored !== undefined) loaded.warnings.push(ignored);
  let data: JobData | undefined;
  try {
    if (params.data !== undefined) data = await loadJobData(params.data, loaded, params.loss);
    const outcome = await alignLoaded(loaded, params.models, params.align, data, params, context);
    context.progress({ jobId: params.jobId, phase: "writing", step: 0, totalSteps: 0, message: "Writing" });
    const outputs: AlignResult["outputs"] = [];
    const warnings = [...loaded.warnings];
    // What every recipe records: the data the alignment (and REPAIR) used, and the backend.
    const record = {
      backend,
      ...(params.data !== undefined && data !== undefined
        ? { data: await dataRecord(params.data, data.split, data.loss?.name) }
        : {}),
    };
    if (params.merge !== undefined) {
      const coefficients = params.merge.coefficients;
      const { spec, perModel } = alignedMergeSpec(params.models, coefficients);
      const repaired =
        data === undefined || !perModel
          ? undefined
          : await repairMerge(loaded, outcome, coefficients as number[] | undefined, data, params.jobId, context);
      if (repaired !== undefined) outcome.report.repair = repairSummary(repaired);
      // REPAIR scored the merge on validation (repaired or not, as it is written): the recipe records it, and the
      // written file must score the same (session/verify.ts).
      const scored =
        repaired === undefined ? undefined : repaired.kept ? repaired.validation.after : repaired.validation.before;
      const task =
        scored !== undefined
          ? taskFor(loaded.problem, data!.validation, { trainingConfig: loaded.trainingConfig })
          : undefined;
      const figures = scored !== undefined ? metricPair(scored) : undefined;
      const check =
        figures !== undefined && task !== undefined
          ? writtenModelCheck(
              loaded,
              data!.validation,
              { task, by: "labels" },
              () => figures,
              (file) => Object.assign(figures, file),
              { metricName: task.metric, split: "validation" },
              context.token,
            )
          : undefined;
      const saved = await saveAlignedMerge(
        spec,
        coefficients,
        params.out,
        {
          alignment: outcome.recipe,
          ...record,
          ...(loaded.architecture !== undefined ? { architecture: loaded.architecture } : {}),
          ...(repaired?.kept ? { overrides: repaired.overrides } : {}),
          ...(figures !== undefined && task !== undefined
            ? { metrics: { metricName: task.metric, split: "validation", merged: figures } }
            : {}),
          ...(check !== undefined ? { check } : {}),
        },
        context.token,
      );
      outputs.push(...saved.outputs);
      warnings.push(...saved.warnings);
    } else {
      const saved = await saveAlignedModels(
        params.models,
        params.out,
        async (i, model) => ({
          ...record,
          ...(loaded.architecture !== undefined ? { architecture: loaded.architecture } : {}),
          alignment: {
            ...outcome.recipe,
            permutations: [rekey(outcome.permutations[i]!, loaded.manifest, await readManifest(model))],
          },
        }),
        context.token,
      );
      outputs.push(...saved.outputs);
      warnings.push(...saved.warnings);
    }
    return { alignment: outcome.report, outputs, warnings, backend, seconds: (performance.now() - started) / 1000 };
  } finally {
    if (data) disposeJobData(data);
    disposeProblem(loaded);
  }
}
