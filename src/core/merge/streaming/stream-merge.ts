import { ModelFileError, UsageError } from "../../errors.js";
import {
  SafetensorsReader,
  type StreamedTensor,
  totalDataBytes,
  writeFromTemplate,
} from "../../formats/safetensors/index.js";
import { isAllFinite, nonFiniteWarning, scanNonFinite } from "../../non-finite.js";
import { BYTES_PER_ELEMENT, type DType, type TensorInfo, elementCount } from "../../tensor.js";
import { throwIfCancelled } from "./cancellation.js";
import { requireSameTensors } from "./compatibility.js";
import { decodeFloatsInto } from "./decode.js";
import { linearCombine } from "./linear-combine.js";
import type { StreamLinearMergeOptions, StreamMergeOptions, StreamMergeResult } from "./types.js";

/** The dtypes a merge combines; the others (ints, bool, 8-bit floats) are copied from the first input. */
const MERGEABLE: ReadonlySet<DType> = new Set(["float64", "float32", "float16", "bfloat16"]);

/** Elements per piece when the combine function is elementwise: 16 MiB of float32. */
export const DEFAULT_PIECE_ELEMENTS = 4 * 1024 * 1024;

/**
 * Buffers reused for every tensor (grown to the largest piece): touching fresh memory costs far more than
 * reusing it on virtual machines, and reuse bounds the peak at about (inputs + 1) pieces.
 */
class ScratchBuffers {
  private raw: Uint8Array[] = [];
  private floats: Float32Array[] = [];
  private out = new Float32Array(0);

  rawFor(input: number, bytes: number): Uint8Array {
    if ((this.raw[input]?.length ?? -1) < bytes) this.raw[input] = new Uint8Array(bytes);
    return this.raw[input]!;
  }

  floatsFor(input: number, count: number): Float32Array {
    if ((this.floats[input]?.length ?? -1) < count) this.floats[input] = new Float32Array(count);
    return this.floats[input]!;
  }

  outputFor(count: number): Float32Array {
    if (this.out.length < count) this.out = new Float32Array(count);
    return this.out.subarray(0, count);
  }
}

/**
 * Merges safetensors models one tensor at a time: reads the tensor from every input, combines the float32
 * values, converts them back to the inputs' dtype and writes them at their offset in the output, which has
 * the first input's layout (sharded input gives sharded output with an index). With `elementwise`, large
 * tensors go through in pieces, so memory stays near (inputs + 1) pieces rather than tensors. Output goes to
 * temporary files renamed into place at the end; a failure or cancellation removes them and leaves nothing.
 */
export async function streamMerge(options: StreamMergeOptions): Promise<StreamMergeResult> {
  const { inputs, target, combine, onProgress, signal } = options;
  if (inputs.length === 0) throw new UsageError("A merge needs at least one input model");
  const pieceLimit = options.elementwise ? (options.pieceElements ?? DEFAULT_PIECE_ELEMENTS) : Infinity;
  if (!(pieceLimit >= 1)) throw new UsageError(`pieceElements must be at least 1, got ${options.pieceElements}`);
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

    const advance = (bytesPerInput: number) => {
      result.bytesRead += bytesPerInput * readers.length;
      onProgress?.(result.bytesRead, totalBytes);
    };

    const mergeInPieces = (info: TensorInfo, position: number): StreamedTensor => async (write) => {
      const elements = elementCount(info.shape);
      const width = BYTES_PER_ELEMENT[info.dtype];
      const nonFinite = { nan: 0, infinite: 0 };
      for (let offset = 0; offset < elements || offset === 0; offset += pieceLimit) {
        const length = Math.min(pieceLimit, elements - offset);
        const pieces = await Promise.all(
          readers.map(async (reader, i) => {
            const raw = await reader.readByteRange(info.name, offset * width, length * width, scratch.rawFor(i, length * width));
            return decodeFloatsInto(raw, info.dtype, scratch.floatsFor(i, info.dtype === "float32" ? 0 : length));
          }),
        );
        throwIfCancelled(signal);
        const output = scratch.outputFor(length);
        const merged = await combine(pieces, { ...info, index: position, count, offset, output });
        if (!(merged instanceof Float32Array) || merged.length !== length) {
          throw new UsageError(`The merge method returned ${merged?.length} values for tensor "${info.name}"; expected ${length}`);
        }
        const found = scanNonFinite(merged);
        if (found.nan + found.infinite > 0 && pieces.every((piece) => isAllFinite(scanNonFinite(piece)))) {
          throw new ModelFileError(
            target,
            `cannot be written: merging tensor "${info.name}" overflows float32: ${found.nan + found.infinite} value(s) become NaN or infinite ` +
              "although every input value is finite; nothing was written (use smaller coefficients or normalised weights)",
          );
        }
        nonFinite.nan += found.nan;
        nonFinite.infinite += found.infinite;
        await write(merged);
        advance(length * width);
        if (length === 0) break;
      }
      const warning = nonFiniteWarning(target, info.name, nonFinite);
      if (warning) result.warnings.push(warning);
      result.merged++;
    };

    const plan = await writeFromTemplate(
      template,
      target,
      async (info) => {
        throwIfCancelled(signal);
        const position = index++;
        if (MERGEABLE.has(info.dtype)) return mergeInPieces(info, position);
        result.copied.push(info.name);
        if (info.dtype.startsWith("float8")) {
          result.warnings.push(`tensor "${info.name}" (${info.dtype}) is copied from ${inputs[0]}: 8-bit floats are not merged`);
        }
        advance(elementCount(info.shape) * BYTES_PER_ELEMENT[info.dtype]);
        return undefined;
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

/** Weighted average Σ w_i · model_i, streamed in pieces (see streamMerge). */
export async function streamLinearMerge(options: StreamLinearMergeOptions): Promise<StreamMergeResult> {
  const { weights, ...rest } = options;
  if (weights.length !== options.inputs.length) {
    throw new UsageError(`A linear merge needs one weight per input: ${options.inputs.length} inputs, ${weights.length} weights`);
  }
  if (!weights.every(Number.isFinite)) throw new UsageError(`Merge weights must be finite numbers, got ${weights.join(", ")}`);
  return streamMerge({ ...rest, combine: linearCombine(weights), elementwise: true });
}
