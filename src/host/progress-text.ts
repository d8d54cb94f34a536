/** What a running job is doing, in words, from the worker's progress notification (no vscode: tested alone). */
import type { ProgressParams } from "../protocol/worker.js";

const PHASES: Record<ProgressParams["phase"], string> = {
  loading: "Loading the models and data",
  learning: "Learning the coefficients",
  evaluating: "Evaluating on the test split",
  writing: "Writing the merged model",
};

/** The worker's own message when it sends one (learning excepted: its step says more), else the phase; then the step and loss. */
export function describeProgress(p: ProgressParams): string {
  const what = p.phase === "learning" ? PHASES.learning : (p.message ?? PHASES[p.phase]);
  const step =
    p.totalSteps <= 0
      ? ""
      : p.phase === "learning"
        ? `: step ${p.step} of ${p.totalSteps}`
        : ` (${p.step} of ${p.totalSteps}${p.unit && p.unit !== "steps" ? ` ${p.unit}` : ""})`;
  const loss =
    p.validationLoss !== undefined
      ? ` · validation loss ${p.validationLoss.toFixed(4)}`
      : p.trainLoss !== undefined
        ? ` · loss ${p.trainLoss.toFixed(4)}`
        : "";
  return `${what}${step}${loss}`;
}
