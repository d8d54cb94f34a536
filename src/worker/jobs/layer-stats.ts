/** The per-layer diff's numbers: tensor statistics read one tensor at a time, away from the editor. */
import { layerStats } from "../../core/diff/layer-stats.js";
import type { LayerStatsParams, TensorStatsLine } from "../../protocol/worker.js";
import type { JobContext } from "../../core/job-context.js";

export async function runLayerStats(
  params: LayerStatsParams,
  context: JobContext,
): Promise<{ tensors: TensorStatsLine[] }> {
  return { tensors: await layerStats(params.model, params.reference, { cancel: context.token }) };
}
