// The comparison rows every command prints, each defined once: the uniform soup and the greedy soup (each with its
// BatchNormalization statistics chosen on validation, as it will be written), for learn, greedy, evaluate, the
// data-aware merges and the panel alike. The output ensemble is evaluateSoups' own.
import type { Cancellation } from "../../core/cancellation.js";
import { chooseBatchNorm, hasBatchNorm } from "../learn/batchnorm.js";
import type { Task } from "../learn/loss.js";
import type { SoupData, SoupProblem } from "../learn/problem.js";
import { greedySoup, type GreedySoup } from "./greedy.js";
import { predictAll, scorePredictions, type Score } from "./score.js";
import { isSingleMix, MixWriter, uniformMix, type Mix, type SoupCandidate } from "./soup.js";

/** The splits a row is chosen on: statistics are re-estimated on learn, chosen by the validation loss. */
export interface RowData {
  readonly learn: SoupData;
  readonly validation: SoupData;
}

export interface RowOptions {
  readonly batchSize?: number;
  readonly cancel?: Cancellation;
}

/** A soup as it will be written, and its validation score (none without labelled validation rows). */
export interface SettledSoup {
  readonly candidate: SoupCandidate;
  readonly validation?: Score;
}

/** The score of the model's current weights on `data`. */
export async function scoreCurrent(
  problem: SoupProblem,
  data: SoupData,
  task: Task,
  options: RowOptions = {},
): Promise<Score> {
  const pred = await predictAll(problem.model, data.x, options.batchSize ?? 1024, options.cancel);
  try {
    return scorePredictions(task, pred, data.y!);
  } finally {
    pred.dispose();
  }
}

function labelled(data: SoupData): boolean {
  return data.y !== undefined && data.x.shape[0]! > 0;
}

/**
 * A soup as every command defines it: its weights, and its BatchNormalization statistics re-estimated on the learn
 * split when that lowers the validation loss. A single ingredient is itself, never re-estimated.
 */
export async function settleSoup(
  problem: SoupProblem,
  mix: Mix,
  task: Task,
  data: RowData,
  options: RowOptions = {},
): Promise<SettledSoup> {
  const writer = new MixWriter(problem);
  try {
    await writer.write(mix);
  } finally {
    writer.dispose();
  }
  if (!labelled(data.validation)) return { candidate: { mix } };
  const reestimateOn = isSingleMix(mix) || !hasBatchNorm(problem.model) ? undefined : data.learn.x;
  const choice = await chooseBatchNorm(
    problem.model,
    () => scoreCurrent(problem, data.validation, task, options),
    reestimateOn,
    options,
  );
  return {
    candidate: { mix, ...(choice.statistics !== undefined ? { statistics: choice.statistics } : {}) },
    validation: choice.score,
  };
}

/** The uniform soup row. */
export function uniformSoupRow(
  problem: SoupProblem,
  task: Task,
  data: RowData,
  options: RowOptions = {},
): Promise<SettledSoup> {
  return settleSoup(problem, uniformMix(problem.ingredients.length), task, data, options);
}

/** The greedy soup row: chosen on validation, every tried soup scored with the statistics it would be written with. */
export async function greedySoupRow(
  problem: SoupProblem,
  task: Task,
  data: RowData,
  options: RowOptions = {},
): Promise<SettledSoup & { readonly greedy: GreedySoup }> {
  const greedy = await greedySoup(problem, data.validation, task, {
    ...options,
    ...(hasBatchNorm(problem.model) ? { batchNormData: data.learn.x } : {}),
  });
  return { ...(await settleSoup(problem, greedy.mix, task, data, options)), greedy };
}
