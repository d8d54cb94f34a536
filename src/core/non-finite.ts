import { ModelFileError } from "./errors.js";
import type { DType, TensorArray } from "./tensor.js";

export interface NonFiniteCount {
  nan: number;
  infinite: number;
}

function countBits(data: Uint16Array | Uint8Array, expMask: number, mantMask: number): NonFiniteCount {
  const result = { nan: 0, infinite: 0 };
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if ((v & expMask) !== expMask) continue;
    if (v & mantMask) result.nan++;
    else result.infinite++;
  }
  return result;
}

/**
 * Counts NaN and infinite values in a tensor's data (float32 values, or the raw storage of `dtype`).
 * NaN/Inf weights are legal in a file, so readers never refuse them: callers turn a non-zero count into a
 * warning (see `nonFiniteWarning`).
 */
export function scanNonFinite(data: Float32Array | TensorArray, dtype: DType = "float32"): NonFiniteCount {
  if (data instanceof Float32Array || data instanceof Float64Array) {
    const result = { nan: 0, infinite: 0 };
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v - v !== 0) {
        if (Number.isNaN(v)) result.nan++;
        else result.infinite++;
      }
    }
    return result;
  }
  switch (dtype) {
    case "float16":
      return countBits(data as Uint16Array, 0x7c00, 0x03ff);
    case "bfloat16":
      return countBits(data as Uint16Array, 0x7f80, 0x007f);
    case "float8_e5m2":
      return countBits(data as Uint8Array, 0x7c, 0x03);
    case "float8_e4m3": {
      // E4M3 (fn) has no infinities; S.1111.111 is its only NaN.
      let nan = 0;
      for (const v of data as Uint8Array) if ((v & 0x7f) === 0x7f) nan++;
      return { nan, infinite: 0 };
    }
    default:
      return { nan: 0, infinite: 0 };
  }
}

export function nonFiniteWarning(file: string, tensor: string, count: NonFiniteCount): string | undefined {
  if (count.nan === 0 && count.infinite === 0) return undefined;
  return `${file}: tensor "${tensor}" has ${count.nan} NaN and ${count.infinite} infinite value(s)`;
}

export function isAllFinite(count: NonFiniteCount): boolean {
  return count.nan === 0 && count.infinite === 0;
}

/** Magnitudes from which a float32 value rounds to infinity when stored in a 16-bit float type. */
const STORE_OVERFLOW: Partial<Record<DType, number>> = { float16: 65520, bfloat16: 3.3961e38 };

/** The magnitude from which a float32 value is written as infinity in `dtype` (Infinity for 32 and 64 bits). */
export function storeLimit(dtype: DType): number {
  return STORE_OVERFLOW[dtype] ?? Infinity;
}

/** How many merged values would be written as NaN or infinity in `dtype` (non-finite already, or past its range). */
export function overflowsOnStore(merged: Float32Array, dtype: DType): number {
  const limit = storeLimit(dtype);
  let count = 0;
  for (let i = 0; i < merged.length; i++) {
    const v = merged[i]!;
    if (!(Math.abs(v) < limit)) count++;
  }
  return count;
}

/** A merge that turned finite inputs into values its output cannot hold: refused, nothing is written. */
export function overflowError(target: string, tensor: string, count: number, dtype: DType): ModelFileError {
  return new ModelFileError(
    target,
    `cannot be written: merging tensor "${tensor}" overflows ${dtype}: ${count} value(s) become NaN or infinite ` +
      "although every input value is finite; nothing was written (use smaller coefficients or normalised weights)",
  );
}
