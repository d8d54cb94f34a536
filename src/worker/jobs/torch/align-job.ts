/**
 * `model-soup align` and `merge --align` on PyTorch models (jobs/align.ts's outputs, through the engine): the
 * session aligns the models (torch/align.ts); then either the weighted average of the aligned models is written
 * (REPAIRed when that lowers the validation loss, models without BatchNorm, labelled data), or every model is
 * written with its units permuted, each with its recipe. The recipes record the permutation groups themselves.
 */
import { UsageError } from "../../../core/errors.js";
import type { JobContext } from "../../../core/job-context.js";
import { dataRecord } from "../../../core/recipe/data-record.js";
import type { SavedSoup } from "../../../core/soup/save.js";
import type { AlignParams, AlignResult, MetricPair } from "../../../protocol/worker.js";
import { metricPair } from "../../evaluate/score.js";
import type { Task } from "../../learn/loss.js";
import { sameLoss } from "../session/verify.js";
import { scoreWrittenFile } from "./write.js";
import { repairSummary } from "../../align/report.js";
import type { Mix } from "../../evaluate/soup.js";
import { alignedMergeSpec, saveAlignedMerge, saveAlignedModels } from "../../align/aligned-saves.js";
import type { TorchModel } from "./engine-choice.js";
import { labelledSplits } from "./learn.js";
import { repairTorchSoup } from "./repair.js";
import { closeTorchSession, openTorchSession, outputUnits } from "./session.js";
import { torchObjective } from "./task.js";

export async function runTorchAlign(params: AlignParams, model: TorchModel, context: JobContext): Promise<AlignResult> {
  if (!params.out) throw new UsageError("an output is required (--out)");
  if (params.data === undefined)
    throw new UsageError(
      `${params.models[0]}: --align on PyTorch models needs --data: the engine traces the model's graph on its rows`,
    );
  const data = params.data;
  const session = await openTorchSession({ ...params, data, align: params.align }, model, context);
  try {
    const alignment = session.alignment!;
    const warnings = [...session.warnings];
    const record = {
      backend: session.backend,
      data: await dataRecord(data, session.data.split, undefined),
      ...(model.architecture !== undefined ? { learning: { architecture: model.architecture } } : {}),
    };
    const outputs: AlignResult["outputs"] = [];
    context.progress({ jobId: params.jobId, phase: "writing", step: 0, totalSteps: 0, message: "Writing" });
    if (params.merge !== undefined) {
      const coefficients = params.merge.coefficients;
      // Per-layer weights are merged without REPAIR (as on TF.js); per-model weights are normalised as written.
      const { spec, perModel } = alignedMergeSpec(params.models, coefficients);
      let overrides: Record<string, number[]> | undefined;
      let scored: { figures: MetricPair; task: Task } | undefined;
      if (perModel && labelledSplits(session)) {
        const weights = (coefficients as number[] | undefined) ?? params.models.map(() => 1);
        const total = weights.reduce((a, b) => a + b, 0);
        if (total !== 0) {
          const mix: Mix = { coefficients: weights.map((w) => [w / total]) };
          const objective = torchObjective("supervised", session.labels, outputUnits(session), params.loss);
          context.progress({
            jobId: params.jobId,
            phase: "evaluating",
            step: 0,
            totalSteps: 0,
            message: "REPAIR: matching the merge's unit statistics to the models'",
          });
          const repaired = await repairTorchSoup(session.engine, alignment, mix, objective, session.data.split.test);
          if (repaired !== undefined) {
            alignment.report.repair = repairSummary(repaired);
            if (repaired.kept) overrides = repaired.overrides;
            // REPAIR scored the merge on validation as it is written: the written file must score the same.
            const figures = metricPair(repaired.kept ? repaired.validation.after : repaired.validation.before);
            scored = { figures, task: objective.task };
          }
        }
      }
      const saved = await saveAlignedMerge(
        spec,
        coefficients,
        params.out,
        {
          alignment: alignment.recipe,
          ...record,
          ...(overrides !== undefined ? { overrides } : {}),
          ...(scored !== undefined
            ? {
                metrics: { metricName: scored.task.metric, split: "validation", merged: scored.figures },
                check: async (written: SavedSoup, metrics: unknown) => {
                  const file = await scoreWrittenFile(
                    session,
                    written.model,
                    scored!.task,
                    true,
                    context,
                    "validation",
                  );
                  if (!sameLoss(file.loss, scored!.figures.loss))
                    throw new Error(
                      `the written model ${written.model} scores validation loss ${file.loss} where the merge REPAIR judged scored ${scored!.figures.loss}; nothing was kept`,
                    );
                  return { ...(metrics as object), merged: file };
                },
              }
            : {}),
        },
        context.token,
      );
      outputs.push(...saved.outputs);
      warnings.push(...saved.warnings);
    } else {
      const saved = await saveAlignedModels(
        params.models,
        params.out,
        (i) => ({ ...record, alignment: { ...alignment.recipe, permutations: [alignment.permutations[i]!] } }),
        context.token,
      );
      outputs.push(...saved.outputs);
      warnings.push(...saved.warnings);
    }
    return {
      alignment: alignment.report,
      outputs,
      warnings,
      backend: session.backend,
      seconds: (performance.now() - session.started) / 1000,
    };
  } finally {
    await closeTorchSession(session);
  }
}
