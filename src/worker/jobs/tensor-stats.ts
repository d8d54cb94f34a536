/** The model viewer's statistics: each asked tensor read on its own (memory stays near one tensor). */
import { toFloat32 } from "../../core/convert.js";
import { throwIfCancelled } from "../../core/cancellation.js";
import { ModelFileError } from "../../core/errors.js";
import { openModel } from "../../core/formats/registry.js";
import { tensorDistribution } from "../../core/report/tensor-distribution.js";
import type { TensorDistributionLine, TensorStatsParams } from "../../protocol/worker.js";
import type { JobContext } from "../../core/job-context.js";

export async function runTensorStats(
  params: TensorStatsParams,
  context: JobContext,
): Promise<{ tensors: TensorDistributionLine[] }> {
  const model = await openModel(params.model);
  try {
    const known = new Set(model.manifest.tensors.map((t) => t.name));
    const names = params.tensors ?? [...known];
    const tensors: TensorDistributionLine[] = [];
    for (const [i, name] of names.entries()) {
      throwIfCancelled(context.token, "The tensor statistics were cancelled");
      if (!known.has(name)) throw new ModelFileError(params.model, `to have a tensor named "${name}"`);
      const tensor = await model.readTensor(name, { float32: true });
      const data = tensor.data instanceof Float32Array ? tensor.data : toFloat32(tensor.data, tensor.dtype);
      tensors.push({ name, ...tensorDistribution(data, params.bins ?? 24) });
      if (names.length > 1)
        context.progress({
          phase: "evaluating",
          step: i + 1,
          totalSteps: names.length,
          unit: "tensors",
          message: "Computing tensor statistics",
        });
    }
    return { tensors };
  } finally {
    await model.close();
  }
}
