// How the learner applies its defaults (src/protocol/learn-defaults.ts) to a run: evaluation interval, patience,
// learning-rate schedule.
import { LEARN_DEFAULTS, type Schedule } from "../../protocol/learn-defaults.js";

/** Steps between validation evaluations for a validation split of `validationRows` rows. */
export function evaluationInterval(
  validationRows: number,
  batchSize: number,
  every: number = LEARN_DEFAULTS.evaluateEvery,
): number {
  return Math.max(every, Math.ceil(validationRows / batchSize));
}

/** Patience in steps: at least three evaluations. */
export function patienceSteps(interval: number, patience: number = LEARN_DEFAULTS.patienceSteps): number {
  return Math.max(patience, 3 * interval);
}

/** Learning rate at step t (1-based) of a budget of `total` steps. */
export function learningRateAt(base: number, schedule: Schedule, t: number, total: number): number {
  if (schedule === "constant" || total <= 1) return base;
  return base * 0.5 * (1 + Math.cos((Math.PI * (t - 1)) / total));
}
