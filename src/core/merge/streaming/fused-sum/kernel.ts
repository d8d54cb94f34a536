import { storeLimit } from "../../../non-finite.js";
import { fusedSumModuleBytes } from "./module.js";

/** The dtypes the fused kernel reads and writes (the others take the separate decode, sum and encode passes). */
export type FusedDtype = "float32" | "bfloat16";

export function isFusedDtype(dtype: string): dtype is FusedDtype {
  return dtype === "float32" || dtype === "bfloat16";
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
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

const PAGE = 65536;
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
 * Σ w_i·x_i·scale of one piece of float32 or bfloat16 inputs, encoded to the same dtype, in one SIMD pass (see
 * module.ts): the same bytes as decodeFloatsInto + weightedSumInto + encodeFloatsInto. The inputs are copied
 * into the kernel's own memory and the result copied out, so no caller memory is tied to it.
 */
export class FusedSumKernel {
  private constructor(
    private readonly memory: WasmMemory,
    private readonly functions: Record<FusedDtype, FusedSum>,
  ) {}

  /** The kernel, or undefined where WebAssembly SIMD is not available (the separate passes are used then). */
  static create(): FusedSumKernel | undefined {
    const bytes = fusedSumModuleBytes();
    if (wasm === undefined || !wasm.validate(bytes)) return undefined;
    const memory = new wasm.Memory({ initial: 1 });
    const instance = new wasm.Instance(new wasm.Module(bytes), { env: { memory } });
    const exports = instance.exports as { sumFloat32: FusedSum; sumBfloat16: FusedSum };
    return new FusedSumKernel(memory, { float32: exports.sumFloat32, bfloat16: exports.sumBfloat16 });
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
    const padded = groups * 4 * width;
    const count = raw.length;
    const table = 0;
    const weightsAt = align16(4 * count);
    const firstInput = align16(weightsAt + 8 * count);
    const outAt = firstInput + count * padded;
    const needed = outAt + padded;
    if (this.memory.buffer.byteLength < needed)
      this.memory.grow(Math.ceil((needed - this.memory.buffer.byteLength) / PAGE));
    const buffer = this.memory.buffer;
    const bytes = new Uint8Array(buffer);
    const addresses = new Int32Array(buffer, table, count);
    const ws = new Float64Array(buffer, weightsAt, count);
    const pieceBytes = length * width;
    for (let i = 0; i < count; i++) {
      const at = firstInput + i * padded;
      addresses[i] = at;
      ws[i] = weights[i]!;
      bytes.set(raw[i]!.subarray(0, pieceBytes), at);
      bytes.fill(0, at + pieceBytes, at + padded);
    }
    const ok = this.functions[dtype](count, table, weightsAt, groups, outAt, scale, float32Limit(storeLimit(dtype)));
    out.set(bytes.subarray(outAt, outAt + pieceBytes));
    return ok === 1;
  }
}
