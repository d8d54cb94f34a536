import { float16BitsToFloat, floatToFloat16Bits } from "../../convert.js";
import type { DType } from "../../tensor.js";

/** float16 bits -> float32, all 65536 of them, built on first use (256 KiB). */
let float16Table: Float32Array | undefined;
function float16Values(): Float32Array {
  if (!float16Table) {
    float16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) float16Table[h] = float16BitsToFloat(h);
  }
  return float16Table;
}

/**
 * Raw little-endian values of a float dtype as float32, written into `out` (reused across tensors, since
 * fresh memory is expensive to touch) instead of a new array. `raw` must start at an aligned offset.
 */
export function decodeFloatsInto(raw: Uint8Array, dtype: DType, out: Float32Array): Float32Array {
  switch (dtype) {
    case "float32":
      return new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
    case "float64": {
      const values = new Float64Array(raw.buffer, raw.byteOffset, raw.length / 8);
      const result = out.subarray(0, values.length);
      result.set(values);
      return result;
    }
    case "bfloat16": {
      const bits = new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2);
      const result = out.subarray(0, bits.length);
      const wide = new Uint32Array(result.buffer, result.byteOffset, bits.length);
      for (let i = 0; i < bits.length; i++) wide[i] = bits[i]! << 16;
      return result;
    }
    case "float16": {
      const bits = new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2);
      const result = out.subarray(0, bits.length);
      const table = float16Values();
      for (let i = 0; i < bits.length; i++) result[i] = table[bits[i]!]!;
      return result;
    }
    default:
      throw new Error(`decodeFloatsInto: ${dtype} is not a mergeable float dtype`);
  }
}

/** Storage of a float dtype that a piece of float32 values is encoded into before writing. */
export type FloatStorage = Float32Array | Float64Array | Uint16Array;

/** Bytes a piece of `count` values of `dtype` takes in its storage. */
export function storageBytes(dtype: DType, count: number): number {
  return count * (dtype === "float64" ? 8 : dtype === "float32" ? 4 : 2);
}

/**
 * float32 values in the storage of `dtype` (float32 itself is returned as is), written into `scratch`.
 * bfloat16 rounds to nearest even (NaN stays NaN), as convert.ts's floatToBfloat16Bits, in one integer pass.
 */
export function encodeFloatsInto(values: Float32Array, dtype: DType, scratch: ArrayBuffer): FloatStorage {
  const n = values.length;
  switch (dtype) {
    case "float32":
      return values;
    case "float64": {
      const out = new Float64Array(scratch, 0, n);
      out.set(values);
      return out;
    }
    case "bfloat16": {
      const bits = new Uint32Array(values.buffer, values.byteOffset, n);
      const out = new Uint16Array(scratch, 0, n);
      for (let i = 0; i < n; i++) {
        const x = bits[i]!;
        out[i] = (x & 0x7fffffff) > 0x7f800000 ? (x >>> 16) | 0x40 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
      }
      return out;
    }
    case "float16": {
      const out = new Uint16Array(scratch, 0, n);
      for (let i = 0; i < n; i++) out[i] = floatToFloat16Bits(values[i]!);
      return out;
    }
    default:
      throw new Error(`encodeFloatsInto: ${dtype} is not a mergeable float dtype`);
  }
}
