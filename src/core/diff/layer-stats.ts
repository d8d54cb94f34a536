/**
 * Per-tensor statistics of a model and how far each tensor moved from a reference model: the content of the
 * editor's per-layer diff. Tensors are read one at a time (memory stays near two tensors), matched to the
 * reference by name, or by structure when the two files name them differently.
 */
import { nameMapping } from "../architecture/compatibility.js";
import { toFloat32 } from "../convert.js";
import { throwIfCancelled, type Cancellation } from "../cancellation.js";
import { ModelFileError } from "../errors.js";
import { openModel } from "../formats/registry.js";
import type { ModelFile } from "../model.js";
import type { Tensor } from "../tensor.js";
import type { TensorStatsLine } from "../../protocol/worker.js";
import { tensorDifference } from "./tensor-difference.js";

export interface LayerStatsOptions {
  /** Asked before each tensor; a requested stop throws a CancelledError. */
  cancel?: Cancellation;
}

/** A tensor's values as float32 (a view when they already are). */
export function tensorValues(tensor: Tensor): Float32Array {
  return tensor.data instanceof Float32Array ? tensor.data : toFloat32(tensor.data, tensor.dtype);
}

/** Mean, standard deviation (population) and L2 norm, accumulated in float64. */
export function tensorMoments(data: Float32Array): { mean: number; std: number; l2: number } {
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    sum += v;
    squares += v * v;
  }
  const n = data.length;
  const mean = n === 0 ? 0 : sum / n;
  const variance = n === 0 ? 0 : Math.max(0, squares / n - mean * mean);
  return { mean, std: Math.sqrt(variance), l2: Math.sqrt(squares) };
}

/** ‖data − reference‖ / ‖reference‖ (‖data − reference‖ when the reference is all zeros). */
export function relativeChange(data: Float32Array, reference: Float32Array): number {
  return tensorDifference(reference, data).relativeDifference;
}

/** Statistics of every tensor of `modelPath`, in the manifest's order; with `referencePath`, the change from it. */
export async function layerStats(
  modelPath: string,
  referencePath?: string,
  options: LayerStatsOptions = {},
): Promise<TensorStatsLine[]> {
  const model = await openModel(modelPath);
  let reference: ModelFile | undefined;
  try {
    reference = referencePath === undefined ? undefined : await openModel(referencePath);
    const mapping = reference ? nameMapping(model.manifest, reference.manifest) : undefined;
    const result: TensorStatsLine[] = [];
    for (const info of model.manifest.tensors) {
      throwIfCancelled(options.cancel, "The per-layer statistics were cancelled");
      const data = tensorValues(await model.readTensor(info.name, { float32: true }));
      const stats: TensorStatsLine = {
        name: info.name,
        shape: [...info.shape],
        dtype: info.dtype,
        ...tensorMoments(data),
      };
      if (reference && mapping) {
        const refName = mapping.get(info.name);
        if (refName === undefined) throw new ModelFileError(referencePath!, `to have a tensor matching "${info.name}"`);
        const refData = tensorValues(await reference.readTensor(refName, { float32: true }));
        if (refData.length !== data.length) {
          throw new ModelFileError(
            referencePath!,
            `tensor "${refName}" to have ${data.length} values like "${info.name}" of ${modelPath}`,
          );
        }
        stats.relativeChange = relativeChange(data, refData);
      }
      result.push(stats);
    }
    return result;
  } finally {
    await model.close();
    await reference?.close();
  }
}
