// The BatchNormalization choice of a soup through any engine: its averaged statistics, or those re-estimated on
// data, whichever scores the lower validation loss.
import type { BatchNormState, RowSelection, SoupEngine } from "../engine/soup-engine.js";

/** A soup's validation score as it will be written, and the re-estimated statistics when they were kept. */
export interface BatchNormChoice<S extends { readonly loss: number }> {
  readonly score: S;
  /** Present when re-estimating the statistics on `reestimateOn` lowered the validation loss. */
  readonly statistics?: BatchNormState;
}

/**
 * BatchNormalization statistics are part of what a soup is. With the soup written in the engine (averaged
 * statistics included): scores it, re-estimates the statistics on `reestimateOn`, scores again, and keeps (in the
 * engine, and in the answer) whichever has the lower validation loss. Without BatchNormalization layers or rows,
 * the soup is scored as it is.
 */
export async function chooseBatchNorm<S extends { readonly loss: number }>(
  engine: SoupEngine,
  score: () => Promise<S>,
  reestimateOn: RowSelection | undefined,
): Promise<BatchNormChoice<S>> {
  const averagedScore = await score();
  const rows = reestimateOn === undefined ? 0 : (reestimateOn.indices?.length ?? engine.rows(reestimateOn.split));
  if (reestimateOn === undefined || engine.batchNormLayers.length === 0 || rows === 0) return { score: averagedScore };
  const averaged = await engine.readBatchNorm();
  await engine.reestimateBatchNorm(reestimateOn);
  const reestimatedScore = await score();
  if (reestimatedScore.loss < averagedScore.loss)
    return { score: reestimatedScore, statistics: await engine.readBatchNorm() };
  await engine.writeBatchNorm(averaged);
  return { score: averagedScore };
}
