/** The greedy soup job. */
import { specFromCoefficients } from "../../../core/merge/coefficients.js";
import type { GreedyParams, SoupReport } from "../../../protocol/worker.js";
import { evaluateSoups, taskFor } from "../../evaluate/evaluate.js";
import { greedySoup } from "../../evaluate/greedy.js";
import type { JobContext } from "../../../core/job-context.js";
import { resolveSoupJob } from "../../../core/soup/job-inputs.js";
import { addAlignment, addRepair } from "../../align/report.js";
import { repairAndScore } from "../../align/repair.js";
import { prepare, release } from "./prepare.js";
import { toCoefficients } from "./coefficients.js";
import { soupReport } from "./report.js";
import { writeSoup } from "./write.js";

export async function runGreedy(given: GreedyParams, context: JobContext): Promise<SoupReport> {
  const params = await resolveSoupJob(given);
  const prepared = await prepare(params, context);
  const { loaded, data } = prepared;
  try {
    const task = taskFor(loaded.problem, data.validation, { trainingConfig: loaded.trainingConfig });
    const greedy = await greedySoup(loaded.problem, data.validation, task, { cancel: context.token });
    const evaluation = await evaluateSoups(loaded.problem, data.test, {
      task,
      merged: greedy.mix,
      cancel: context.token,
    });
    const coefficients = toCoefficients(greedy.mix.coefficients, ["*"]);
    const report = await soupReport(prepared, params, evaluation, "greedy soup", coefficients, context);
    if (prepared.alignment) addAlignment(report, prepared.alignment);
    // Aligned models without BatchNormalization: REPAIR the greedy soup, kept when it helps on validation.
    const repaired = prepared.alignment
      ? await repairAndScore(
          loaded.problem,
          prepared.alignment.plan,
          greedy.mix,
          data,
          loaded.bindings.map((b) => b.tensor),
          { trainingConfig: loaded.trainingConfig, cancel: context.token },
        )
      : undefined;
    addRepair(report, repaired);
    if (params.out !== undefined) {
      await writeSoup(report, prepared, params, context, {
        spec: specFromCoefficients({
          method: "linear",
          paths: params.models,
          coefficients,
          params: { normalize: false },
        }),
        origin: "greedy",
        learning: { kept: greedy.kept.map((i) => params.models[i]) },
        ...(repaired?.kept ? { overrides: repaired.overrides } : {}),
      });
    }
    report.seconds = (performance.now() - prepared.started) / 1000;
    return report;
  } finally {
    release(prepared);
  }
}
