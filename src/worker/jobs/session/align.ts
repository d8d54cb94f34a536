/** The alignment step a session takes first when a job asks for it (learn, greedy, evaluate, align). */
import { permutationSymmetry } from "../../../core/align/index.js";
import { UsageError } from "../../../core/errors.js";
import type { JobContext } from "../../../core/job-context.js";
import type { AlignOptions } from "../../../protocol/worker.js";
import { alignProblem, type AlignmentOutcome } from "../../align/align-problem.js";
import type { JobData } from "./data.js";
import type { LoadedProblem } from "./problem.js";

/** Aligns a loaded problem (learn, greedy, align): progress, then `alignProblem` with the first model's groups. */
export async function alignLoaded(
  loaded: LoadedProblem,
  models: readonly string[],
  align: AlignOptions,
  data: JobData | undefined,
  params: { jobId?: string; data?: { seed?: number }; base?: string },
  context: JobContext,
): Promise<AlignmentOutcome> {
  if (params.base !== undefined)
    throw new UsageError("--align does not apply with --base: task vectors already share the base's basin");
  context.progress({
    jobId: params.jobId,
    phase: "loading",
    step: 0,
    totalSteps: 0,
    message: `Aligning the models (${align.method} matching)`,
  });
  const plan = permutationSymmetry(loaded.manifest);
  for (const f of plan.fixed)
    context.log(
      "info",
      `alignment: layer "${f.layer}" (${f.className}) keeps its neighbours' units in place: ${f.reason}`,
    );
  const outcome = await alignProblem(loaded.problem, align, data, {
    models,
    plan,
    tensorNames: loaded.bindings.map((b) => b.tensor),
    trainingConfig: loaded.trainingConfig,
    seed: params.data?.seed ?? 0,
    cancel: context.token,
  });
  if (plan.groups.length === 0)
    loaded.warnings.push(
      `${loaded.manifest.path}: alignment found no units that can be permuted, so it changed nothing`,
    );
  return outcome;
}
