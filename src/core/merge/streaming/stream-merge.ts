import { UsageError } from "../../errors.js";
import {
  SafetensorsReader,
  type StreamedTensor,
  totalDataBytes,
  writeFromTemplate,
} from "../../formats/safetensors/index.js";
import { requireStreamReader } from "../../formats/stream-readers.js";
import { nonFiniteWarning, overflowError, overflowsOnStore, scanNonFinite } from "../../non-finite.js";
import { BYTES_PER_ELEMENT, type DType, type TensorInfo, elementCount } from "../../tensor.js";
import { throwIfCancelled } from "../../cancellation.js";
import type { WeightedSumTerms } from "../weighted-sum-kernel.js";
import { requireSameTensors } from "./compatibility.js";
import { decodeFloatsInto, encodeFloatsInto, type FloatStorage, storageBytes } from "./decode.js";
import { type PieceJob, PieceReads } from "./piece-reads.js";
import { linearCombine } from "./linear-combine.js";
import { FusedSumKernel, isFusedDtype } from "./fused-sum/kernel.js";
import type { StreamLinearMergeOptions, StreamMergeOptions, StreamMergeResult } from "./types.js";

const CANCELLED = "Merge cancelled; no output was written";

/** The dtypes a merge combines; the others (ints, bool, 8-bit floats) are copied (from options.copyFrom). */
const MERGEABLE: ReadonlySet<DType> = new Set(["float64", "float32", "float16", "bfloat16"]);

/** Elements per piece when the combine function is elementwise: 4 MiB of float32. */
export const DEFAULT_PIECE_ELEMENTS = 1024 * 1024;

/** Pieces in flight for an elementwise merge: one being combined while the next are read (see PieceReads). */
const READ_AHEAD = 3;

/** Output buffers: the piece being combined while the previous one is still being written. */
const OUTPUT_SLOTS = 2;

/** Float scratch (reused across tensors: touching fresh memory costs far more than reuse on virtual machines). */
class FloatScratch {
  private arrays: Float32Array[] = [];

  get(index: number, count: number): Float32Array {
    if ((this.arrays[index]?.length ?? -1) < count) this.arrays[index] = new Float32Array(count);
    return this.arrays[index]!;
  }
}

interface OutputSlot {
  values: Float32Array;
  storage: ArrayBuffer;
  /** The write of the piece last encoded here; the slot is reused once it settled. */
  writing: Promise<void>;
}

/** Every piece a merge reads, in the order the writer asks for the tensors (shards in order, data order). */
function piecePlan(template: SafetensorsReader, pieceLimit: number): PieceJob[] {
  const plan: PieceJob[] = [];
  for (const shard of template.set.shards) {
    for (const entry of shard.entries) {
      const location = template.set.tensors.get(entry.name);
      if (location?.shard !== shard || !MERGEABLE.has(location.info.dtype)) continue;
      const elements = elementCount(location.info.shape);
      for (let offset = 0; offset < elements || offset === 0; offset += pieceLimit) {
        plan.push({ info: location.info, offset, length: Math.min(pieceLimit, elements - offset) });
        if (elements === 0) break;
      }
    }
  }
  return plan;
}

const ignore = (): void => undefined;

/** True when no value is NaN or infinite (x·0 is NaN exactly then): a branch-free pass, ~2× faster than counting. */
function allFinite(values: Float32Array): boolean {
  let a0 = 0,
    a1 = 0,
    a2 = 0,
    a3 = 0;
  const n = values.length;
  const whole = n - (n % 4);
  for (let i = 0; i < whole; i += 4) {
    a0 += values[i]! * 0;
    a1 += values[i + 1]! * 0;
    a2 += values[i + 2]! * 0;
    a3 += values[i + 3]! * 0;
  }
  for (let i = whole; i < n; i++) a0 += values[i]! * 0;
  return a0 + a1 + a2 + a3 === 0;
}

/**
 * A piece merged by the fused kernel, encoded in `storage`; undefined when a merged value is not finite or too
 * large for the dtype, for the separate passes to count and report.
 */
function fusedPiece(
  kernel: FusedSumKernel,
  raws: readonly Uint8Array[],
  dtype: DType,
  terms: WeightedSumTerms,
  length: number,
  storage: ArrayBuffer,
): FloatStorage | undefined {
  if (length === 0 || !isFusedDtype(dtype) || terms.weights.length !== raws.length) return undefined;
  const out = new Uint8Array(storage, 0, storageBytes(dtype, length));
  if (!kernel.sum(raws, dtype, terms.weights, terms.scale, length, out)) return undefined;
  return dtype === "float32" ? new Float32Array(storage, 0, length) : new Uint16Array(storage, 0, length);
}

/**
 * Merges safetensors models one tensor at a time: reads the tensor from every input, combines the float32
 * values, converts them back to the inputs' dtype and writes them at their offset in the output, which has
 * the first input's layout (sharded input gives sharded output with an index). With `elementwise`, large
 * tensors go through in pieces, read a few pieces ahead and written while the next piece is combined, so
 * memory stays near a few times (inputs + 1) pieces rather than tensors. Output goes to temporary files
 * renamed into place at the end; a failure or cancellation removes them and leaves nothing.
 */
export async function streamMerge(options: StreamMergeOptions): Promise<StreamMergeResult> {
  const { inputs, target, combine, onProgress, cancel } = options;
  if (inputs.length === 0) throw new UsageError("A merge needs at least one input model");
  const pieceLimit = options.elementwise ? (options.pieceElements ?? DEFAULT_PIECE_ELEMENTS) : Infinity;
  if (!(pieceLimit >= 1)) throw new UsageError(`pieceElements must be at least 1, got ${options.pieceElements}`);
  throwIfCancelled(cancel, CANCELLED);
  const readers: SafetensorsReader[] = [];
  let reads: PieceReads | undefined;
  try {
    for (const input of inputs) readers.push(await requireStreamReader(input));
    const sets = readers.map((r) => r.set);
    requireSameTensors(sets);
    const template = readers[0]!;
    const fused = options.weightedSum && options.elementwise ? FusedSumKernel.create() : undefined;
    // Whole tensors (a method that needs them) are not read ahead: memory stays near (inputs + 1) tensors.
    // Pieces are read into the fused kernel's memory when there is one, so it sums them where they lie.
    reads = new PieceReads(
      readers,
      piecePlan(template, pieceLimit),
      options.elementwise ? READ_AHEAD : 1,
      options.onRead,
      fused && ((bytes) => fused.allocate(bytes)),
    );
    const pieceReads = reads;
    const totalBytes = sets.reduce((sum, set) => sum + totalDataBytes(set), 0);
    const count = template.set.tensors.size;
    const floats = new FloatScratch();
    const outputs: OutputSlot[] = Array.from({ length: OUTPUT_SLOTS }, () => ({
      values: new Float32Array(0),
      storage: new ArrayBuffer(0),
      writing: Promise.resolve(),
    }));
    let outputTurn = 0;
    const result: StreamMergeResult = {
      files: [],
      merged: 0,
      copied: [],
      warnings: sets.flatMap((s) => s.warnings),
      bytesRead: 0,
    };
    let index = 0;

    const advance = (bytesPerInput: number) => {
      result.bytesRead += bytesPerInput * readers.length;
      onProgress?.(result.bytesRead, totalBytes);
    };

    const mergeInPieces =
      (info: TensorInfo, position: number): StreamedTensor =>
      async (write) => {
        const elements = elementCount(info.shape);
        const width = BYTES_PER_ELEMENT[info.dtype];
        const nonFinite = { nan: 0, infinite: 0 };
        const terms = fused && isFusedDtype(info.dtype) ? options.weightedSum!(info) : undefined;
        /** Decode, combine, check and encode one piece, in separate passes; counts what is not finite. */
        const combinePiece = async (
          raws: readonly Uint8Array[],
          output: Float32Array,
          storage: ArrayBuffer,
          offset: number,
        ): Promise<FloatStorage> => {
          const length = output.length;
          const tensors = raws.map((raw, i) =>
            decodeFloatsInto(raw, info.dtype, floats.get(i, info.dtype === "float32" ? 0 : length)),
          );
          const merged = await combine(tensors, { ...info, index: position, count, offset, output });
          if (!(merged instanceof Float32Array) || merged.length !== length) {
            throw new UsageError(
              `The merge method returned ${merged?.length} values for tensor "${info.name}"; expected ${length}`,
            );
          }
          const sixteenBit = info.dtype === "float16" || info.dtype === "bfloat16";
          if (!allFinite(merged) || (sixteenBit && overflowsOnStore(merged, info.dtype) > 0)) {
            if (tensors.every((t) => allFinite(t)))
              throw overflowError(target, info.name, overflowsOnStore(merged, info.dtype), info.dtype);
            const found = scanNonFinite(merged);
            nonFinite.nan += found.nan;
            nonFinite.infinite += found.infinite;
          }
          // What the combine returned may be an input's memory, which the next read reuses: keep a copy.
          if (info.dtype === "float32" && merged.buffer !== output.buffer) output.set(merged);
          return encodeFloatsInto(info.dtype === "float32" ? output : merged, info.dtype, storage);
        };
        let settled: PromiseSettledResult<void>[];
        try {
          for (let offset = 0; offset < elements || offset === 0; offset += pieceLimit) {
            const length = Math.min(pieceLimit, elements - offset);
            const piece = await pieceReads.read({ info, offset, length });
            throwIfCancelled(cancel, CANCELLED);
            const slot = outputs[outputTurn++ % outputs.length]!;
            await slot.writing;
            if (slot.values.length < length) slot.values = new Float32Array(length);
            const output = slot.values.subarray(0, length);
            let stored: FloatStorage;
            try {
              if (slot.storage.byteLength < storageBytes(info.dtype, length))
                slot.storage = new ArrayBuffer(storageBytes(info.dtype, length));
              stored =
                (terms && fusedPiece(fused!, piece.raw, info.dtype, terms, length, slot.storage)) ??
                (await combinePiece(piece.raw, output, slot.storage, offset));
            } finally {
              piece.release();
            }
            // Not awaited: the write runs while the next piece is combined; the slot waits for it before reuse.
            slot.writing = write(stored);
            slot.writing.catch(ignore);
            advance(length * width);
            if (length === 0) break;
          }
        } finally {
          // Every write started has ended before the next tensor, or the error, goes on.
          settled = await Promise.allSettled(outputs.map((o) => o.writing));
          outputs.forEach((o) => (o.writing = Promise.resolve()));
        }
        const failed = settled.find((s) => s.status === "rejected");
        if (failed) throw (failed as PromiseRejectedResult).reason;
        const warning = nonFiniteWarning(target, info.name, nonFinite);
        if (warning) result.warnings.push(warning);
        result.merged++;
      };
    const plan = await writeFromTemplate(
      template,
      target,
      async (info) => {
        throwIfCancelled(cancel, CANCELLED);
        const position = index++;
        if (MERGEABLE.has(info.dtype)) return mergeInPieces(info, position);
        result.copied.push(info.name);
        const from = options.copyFrom ?? 0;
        if (from !== 0 && !info.dtype.startsWith("float8")) {
          advance(elementCount(info.shape) * BYTES_PER_ELEMENT[info.dtype]);
          return (await readers[from]!.readTensor(info.name)).data;
        }
        if (info.dtype.startsWith("float8")) {
          result.warnings.push(
            `tensor "${info.name}" (${info.dtype}) is copied from ${inputs[0]}: 8-bit floats are not merged`,
          );
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
    await reads?.settle();
    await Promise.all(readers.map((r) => r.close()));
  }
}

/** Weighted average Σ w_i · model_i, streamed in pieces (see streamMerge). */
export async function streamLinearMerge(options: StreamLinearMergeOptions): Promise<StreamMergeResult> {
  const { weights, ...rest } = options;
  if (weights.length !== options.inputs.length) {
    throw new UsageError(
      `A linear merge needs one weight per input: ${options.inputs.length} inputs, ${weights.length} weights`,
    );
  }
  if (!weights.every(Number.isFinite))
    throw new UsageError(`Merge weights must be finite numbers, got ${weights.join(", ")}`);
  return streamMerge({
    ...rest,
    combine: linearCombine(weights),
    weightedSum: () => ({ weights, scale: 1 }),
    elementwise: true,
  });
}
