import { storeLimit } from "../../../non-finite.js";
import { fusedSumModuleBytes, MAX_PAGES } from "./module.js";

/** The dtypes the fused kernel reads and writes (the others take the separate decode, sum and encode passes). */
export type FusedDtype = "float32" | "bfloat16" | "float16";

export function isFusedDtype(dtype: string): dtype is FusedDtype {
  return dtype === "float32" || dtype === "bfloat16" || dtype === "float16";
}

type FusedSum = (
  inputs: number,
  table: number,
  weights: number,
  groups: number,
  out: number,
  scale: number,
  limit: number,
) => number;

/** The part of the WebAssembly JavaScript API used here (the project's type libraries do not declare it). */
interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

const PAGE = 65536;
/** Bytes after every region that the kernel may write: a piece's last group of 4 values reaches past its end. */
const SLACK = 16;
const align16 = (n: number) => Math.ceil(n / 16) * 16;

/** The smallest float32 L with (v < L) ⟺ (v < limit) for every float32 v: the limit as the kernel compares it. */
function float32Limit(limit: number): number {
  if (!Number.isFinite(limit)) return limit;
  const rounded = Math.fround(limit);
  if (rounded >= limit) return rounded;
  const bits = new Uint32Array(new Float32Array([rounded]).buffer);
  bits[0]! += 1;
  return new Float32Array(bits.buffer)[0]!;
}

/**
 * Σ w_i·x_i·scale of one piece of float32, bfloat16 or float16 inputs, encoded to the same dtype, in one SIMD
 * pass (see module.ts): the same bytes as decodeFloatsInto + weightedSumInto + encodeFloatsInto. Its memory is
 * shared, and `allocate` hands out buffers in it: inputs read into those are summed where they lie (and can be
 * hashed on another thread meanwhile); other inputs are copied in first. One kernel serves one merge: its
 * buffers are never freed, only reused, and go with it.
 */
export class FusedSumKernel {
  private readonly owned = new WeakSet<ArrayBufferLike>();
  private top = 0;
  private terms: Uint8Array;
  private copies: Uint8Array[] = [];
  private result: Uint8Array;

  private constructor(
    private readonly memory: WasmMemory,
    private readonly functions: Record<FusedDtype, FusedSum>,
  ) {
    this.terms = this.allocate(1024);
    this.result = this.allocate(1024);
  }

  /** The kernel, or undefined where WebAssembly SIMD or shared memory is not available (the separate passes are used then). */
  static create(): FusedSumKernel | undefined {
    const bytes = fusedSumModuleBytes();
    if (wasm === undefined || !wasm.validate(bytes)) return undefined;
    try {
      const memory = new wasm.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
      const instance = new wasm.Instance(new wasm.Module(bytes), { env: { memory } });
      const exports = instance.exports as { sumFloat32: FusedSum; sumBfloat16: FusedSum; sumFloat16: FusedSum };
      return new FusedSumKernel(memory, {
        float32: exports.sumFloat32,
        bfloat16: exports.sumBfloat16,
        float16: exports.sumFloat16,
      });
    } catch {
      return undefined;
    }
  }

  /**
   * A buffer of at least `bytes` in the kernel's shared memory (its capacity rounded up to a power of two),
   * for reading a merge's inputs into.
   */
  allocate(bytes: number): Uint8Array {
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(bytes, 64)));
    const at = this.top;
    const end = at + capacity + SLACK;
    const size = this.memory.buffer.byteLength;
    if (end > size) this.memory.grow(Math.ceil((end - size) / PAGE));
    this.top = align16(end);
    const buffer = this.memory.buffer;
    this.owned.add(buffer);
    return new Uint8Array(buffer, at, capacity);
  }

  private owns(view: Uint8Array): boolean {
    return this.owned.has(view.buffer);
  }

  /** `region` when it holds `bytes`, else a new buffer. */
  private atLeast(region: Uint8Array | undefined, bytes: number): Uint8Array {
    return region !== undefined && region.length >= bytes ? region : this.allocate(bytes);
  }

  /**
   * Writes the merged piece (`length` values of `dtype`) into `out` and returns true, or returns false when a
   * merged value is NaN, infinite or too large for `dtype`: `out` then holds no meaningful bytes, and the caller
   * takes its exact path that counts and reports them. `raw` are the inputs' bytes of the piece.
   */
  sum(
    raw: readonly Uint8Array[],
    dtype: FusedDtype,
    weights: readonly number[],
    scale: number,
    length: number,
    out: Uint8Array,
  ): boolean {
    const width = dtype === "float32" ? 4 : 2;
    const groups = Math.ceil(length / 4);
    const pieceBytes = length * width;
    const padded = groups * 4 * width;
    const count = raw.length;
    this.terms = this.atLeast(this.terms, 16 + 12 * count);
    this.result = this.atLeast(this.result, padded);
    for (let i = 0; i < count; i++) if (!this.owns(raw[i]!)) this.copies[i] = this.atLeast(this.copies[i], padded);
    // Views are taken after every allocation: growing the memory gives a new, longer buffer.
    const memory = this.memory.buffer;
    const bytes = new Uint8Array(memory);
    const table = this.terms.byteOffset;
    const weightsAt = align16(table + 4 * count);
    const addresses = new Int32Array(memory, table, count);
    const ws = new Float64Array(memory, weightsAt, count);
    for (let i = 0; i < count; i++) {
      const input = raw[i]!;
      const inPlace = this.owns(input);
      const at = inPlace ? input.byteOffset : this.copies[i]!.byteOffset;
      if (!inPlace) bytes.set(input.subarray(0, pieceBytes), at);
      // The last group's values past the piece are zeros (within the buffer's slack for a piece that fills it).
      bytes.fill(0, at + pieceBytes, at + padded);
      addresses[i] = at;
      ws[i] = weights[i]!;
    }
    const outAt = this.result.byteOffset;
    const ok = this.functions[dtype](count, table, weightsAt, groups, outAt, scale, float32Limit(storeLimit(dtype)));
    out.set(bytes.subarray(outAt, outAt + pieceBytes));
    return ok === 1;
  }
}
