import { toFloat32, viewAs } from "../../convert.js";
import { UsageError } from "../../errors.js";
import {
  SafetensorsReader,
  nonFiniteWarning,
  scanNonFinite,
  totalDataBytes,
  writeFromTemplate,
} from "../../formats/safetensors/index.js";
import { type DType, type TensorInfo, elementCount } from "../../tensor.js";
import { throwIfCancelled } from "./cancellation.js";
import { requireSameTensors } from "./compatibility.js";
import { linearCombine } from "./linear-combine.js";
import type { StreamLinearMergeOptions, StreamMergeOptions, StreamMergeResult } from "./types.js";

/** The dtypes a merge combines; the others (ints, bool, 8-bit floats) are copied from the first input. */
const MERGEABLE: ReadonlySet<DType> = new Set(["float64", "float32", "float16", "bfloat16"]);

/** Grows on demand to the largest tensor seen, so memory stays near (inputs + 1) x the largest tensor. */
class ScratchBuffers {
  private raw: Uint8Array[] = [];
  private out = new Float32Array(0);

  rawFor(input: number, bytes: number): Uint8Array {
    if ((this.raw[input]?.length ?? -1) < bytes) this.raw[input] = new Uint8Array(bytes);
    return this.raw[input]!;
  }

  outputFor(count: number): Float32Array {
    if (this.out.length < count) this.out = new Float32Array(count);
    return this.out.subarray(0, count);
  }
}

async function readAsFloat32(reader: SafetensorsReader, info: TensorInfo, into: Uint8Array): Promise<Float32Array> {
  const bytes = await reader.readBytes(info.name, into);
  if (info.dtype === "float32") return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  return toFloat32(viewAs(bytes, info.dtype, info.shape), info.dtype);
}

/**
 * Merges safetensors models one tensor at a time: reads the tensor from every input, combines the float32
 * values, converts them back to the inputs' dtype and writes them at their offset in the output, which has
 * the first input's layout (sharded input gives sharded output with an index). Output goes to temporary files
 * renamed into place at the end; a failure or cancellation removes them and leaves nothing.
 */
export async function streamMerge(options: StreamMergeOptions): Promise<StreamMergeResult> {
  const { inputs, target, combine, onProgress, signal } = options;
  if (inputs.length === 0) throw new UsageError("A merge needs at least one input model");
  throwIfCancelled(signal);
  const readers: SafetensorsReader[] = [];
  try {
    for (const input of inputs) readers.push(await SafetensorsReader.open(input));
    const sets = readers.map((r) => r.set);
    requireSameTensors(sets);
    const template = readers[0]!;
    const totalBytes = sets.reduce((sum, set) => sum + totalDataBytes(set), 0);
    const count = template.set.tensors.size;
    const scratch = new ScratchBuffers();
    const result: StreamMergeResult = { files: [], merged: 0, copied: [], warnings: sets.flatMap((s) => s.warnings), bytesRead: 0 };
    let index = 0;

    const advance = (info: TensorInfo) => {
      const { entry } = template.location(info.name);
      result.bytesRead += (entry.end - entry.begin) * readers.length;
      onProgress?.(result.bytesRead, totalBytes);
    };

    const plan = await writeFromTemplate(
      template,
      target,
      async (info) => {
        throwIfCancelled(signal);
        const position = index++;
        if (!MERGEABLE.has(info.dtype)) {
          result.copied.push(info.name);
          if (info.dtype.startsWith("float8")) {
            result.warnings.push(`tensor "${info.name}" (${info.dtype}) is copied from ${inputs[0]}: 8-bit floats are not merged`);
          }
          advance(info);
          return undefined;
        }
        const { entry } = template.location(info.name);
        const size = entry.end - entry.begin;
        const tensors = await Promise.all(readers.map((r, i) => readAsFloat32(r, info, scratch.rawFor(i, size))));
        throwIfCancelled(signal);
        const elements = elementCount(info.shape);
        const merged = await combine(tensors, { ...info, index: position, count, output: scratch.outputFor(elements) });
        if (!(merged instanceof Float32Array) || merged.length !== elements) {
          throw new UsageError(`The merge method returned ${merged?.length} values for tensor "${info.name}"; expected ${elements}`);
        }
        const warning = nonFiniteWarning(target, info.name, scanNonFinite(merged));
        if (warning) result.warnings.push(warning);
        result.merged++;
        advance(info);
        return merged;
      },
      { metadata: options.metadata },
      sets.slice(1),
    );
    result.files = [...plan.shards, ...(plan.index ? [plan.index] : [])];
    return result;
  } finally {
    await Promise.all(readers.map((r) => r.close()));
  }
}

/** Weighted average Σ w_i · model_i, streamed tensor by tensor (see streamMerge). */
export async function streamLinearMerge(options: StreamLinearMergeOptions): Promise<StreamMergeResult> {
  const { weights, ...rest } = options;
  if (weights.length !== options.inputs.length) {
    throw new UsageError(`A linear merge needs one weight per input: ${options.inputs.length} inputs, ${weights.length} weights`);
  }
  if (!weights.every(Number.isFinite)) throw new UsageError(`Merge weights must be finite numbers, got ${weights.join(", ")}`);
  return streamMerge({ ...rest, combine: linearCombine(weights) });
}
