// The learner's defaults, in one place: the code that learns, the worker job, the CLI help and docs/learning.md
// all read them from here. docs/learning.md gives the experiments behind each value.

export type Schedule = "constant" | "cosine";

export const LEARN_DEFAULTS = {
  optimizer: "adam" as const,
  /** Adam learning rate on the coefficients' parameters (softmax logits on the simplex). */
  learningRate: 0.05,
  /** Learning-rate schedule over the step budget: cosine decay to zero at `maxSteps`, or constant. */
  schedule: "cosine" as Schedule,
  /** Adam mini-batch (rows per step); also the chunk size of L-BFGS full-batch passes. */
  batchSize: 256,
  /** Step budget of Adam: optimiser steps, whatever the number of rows (small data still gets these many). */
  maxSteps: 400,
  /** Adam evaluates the validation split every this many steps, or every ⌈validation rows / batch⌉ steps when more. */
  evaluateEvery: 10,
  /** Adam stops after this many steps without a lower validation loss (at least three evaluations). */
  patienceSteps: 100,
  /** L-BFGS iterations (each one a full-batch pass) and its patience in iterations. */
  lbfgsIterations: 50,
  lbfgsPatience: 3,
  /** L-BFGS uses at most this many learning rows, a fixed seeded subset. */
  fullBatchLimit: 8192,
  /**
   * Small data: when learn + validation hold at most this many rows and the learned soup won on validation, it is
   * learned again on learn + validation together, from the same start, for the number of steps validation chose.
   */
  refitMaxRows: 5000,
  /** On the simplex, a start at a single ingredient or a subset keeps this share spread uniformly over all. */
  startSpread: 0.1,
} as const;

/** Steps between validation evaluations for a validation split of `validationRows` rows. */
export function evaluationInterval(validationRows: number, batchSize: number, every: number = LEARN_DEFAULTS.evaluateEvery): number {
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

/** The budget as one line, for help texts and reports. */
export function describeBudget(d: typeof LEARN_DEFAULTS = LEARN_DEFAULTS): string {
  return (
    `Adam, learning rate ${d.learningRate} with ${d.schedule === "cosine" ? "cosine decay" : "no decay"} over at most ${d.maxSteps} steps ` +
    `of ${d.batchSize} rows; validation every ${d.evaluateEvery} steps (or every ⌈validation rows / ${d.batchSize}⌉ when more); ` +
    `stops after ${d.patienceSteps} steps (at least 3 evaluations) without a lower validation loss`
  );
}
