/** The greedy soup job. */
import { specFromCoefficients } from "../../core/merge/coefficients.js";
import type { GreedyParams, SoupReport } from "../../protocol/worker.js";
import { evaluateSoups, taskFor } from "../evaluate/evaluate.js";
import { greedySoupRow, uniformSoupRow } from "../evaluate/rows.js";
import type { JobContext } from "../../core/job-context.js";
import { resolveSoupJob } from "../../core/soup/job-inputs.js";
import { addAlignment, addRepair } from "../align/report.js";
import { repairAndScore } from "../align/repair.js";
import { torchModelFor } from "./torch/engine-choice.js";
import { runTorchGreedy } from "./torch/greedy.js";
import { openSession, closeSession } from "./session/session.js";
import { toCoefficients } from "./session/coefficients.js";
import { GREEDY_SOUP, soupReport } from "./session/report.js";
import { batchNormOverrides, writeSoup } from "./session/write.js";

export async function runGreedy(given: GreedyParams, context: JobContext): Promise<SoupReport> {
  const params = await resolveSoupJob(given);
  const torch = await torchModelFor(params.models, params.architecture);
  if (torch !== undefined) return runTorchGreedy(params, torch, context);
  const session = await openSession(params, context);
  const { loaded, data } = session;
  try {
    const task = taskFor(loaded.problem, data.validation, { trainingConfig: loaded.trainingConfig });
    const options = { cancel: context.token };
    const uniform = await uniformSoupRow(loaded.problem, task, data, options);
    const greedy = await greedySoupRow(loaded.problem, task, data, options);
    const evaluation = await evaluateSoups(loaded.problem, data.test, {
      task,
      uniform: uniform.candidate,
      merged: greedy.candidate,
      cancel: context.token,
    });
    const coefficients = toCoefficients(greedy.candidate.mix.coefficients, ["*"]);
    const report = await soupReport(session, params, evaluation, GREEDY_SOUP, coefficients, context);
    if (session.alignment) addAlignment(report, session.alignment);
    // Aligned models without BatchNormalization: REPAIR the greedy soup, kept when it helps on validation.
    const repaired = session.alignment
      ? await repairAndScore(
          loaded.problem,
          session.alignment.plan,
          greedy.candidate.mix,
          data,
          loaded.bindings.map((b) => b.tensor),
          { trainingConfig: loaded.trainingConfig, cancel: context.token },
        )
      : undefined;
    addRepair(report, repaired);
    const overrides = {
      ...batchNormOverrides(loaded.bindings, greedy.candidate.statistics),
      ...(repaired?.kept ? repaired.overrides : {}),
    };
    await writeSoup(
      report,
      session,
      params,
      context,
      {
        spec: specFromCoefficients({
          method: "linear",
          paths: params.models,
          coefficients,
          params: { normalize: false },
        }),
        origin: "greedy",
        learning: {
          kept: greedy.greedy.kept.map((i) => params.models[i]),
          batchNorm: greedy.candidate.statistics !== undefined ? "re-estimated" : "averaged",
        },
        ...(Object.keys(overrides).length > 0 ? { overrides } : {}),
      },
      task,
    );
    report.seconds = (performance.now() - session.started) / 1000;
    return report;
  } finally {
    closeSession(session);
  }
}
