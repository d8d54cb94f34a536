// The learner's defaults, in one place: the learner (src/worker/learn), the worker job, the CLI help, the Merge
// panel's initial settings and docs/learning.md all read them from here. docs/learning.md gives the experiments
// behind each value.

import type { Granularity, Objective, OptimizerName, Parameterisation } from "./choices.js";

export type Schedule = "constant" | "cosine";

export const LEARN_DEFAULTS = {
  granularity: "model" as Granularity,
  parameterisation: "simplex" as Parameterisation,
  objective: "supervised" as Objective,
  optimizer: "adam" as OptimizerName,
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
