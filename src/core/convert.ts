import { type DType, type TensorArray, elementCount } from "./tensor.js";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function float16BitsToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Round-to-nearest-even float32 -> float16 bits, with overflow to infinity and subnormals. */
export function floatToFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

export function floatToBfloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** OCP FP8 E4M3 (finite, no infinities, NaN = S.1111.111). */
export function float8e4m3ToFloat(b: number): number {
  const sign = b & 0x80 ? -1 : 1;
  const exp = (b >> 3) & 0xf;
  const mant = b & 0x7;
  if (exp === 0xf && mant === 0x7) return NaN;
  if (exp === 0) return sign * mant * 2 ** -9;
  return sign * (1 + mant / 8) * 2 ** (exp - 7);
}

/** OCP FP8 E5M2 (IEEE-like: infinities and NaNs). */
export function float8e5m2ToFloat(b: number): number {
  return float16BitsToFloat(b << 8);
}

/** Reads any tensor's values as float32 (ints and bools too). */
export function toFloat32(data: TensorArray, dtype: DType): Float32Array {
  const n = data.length;
  const out = new Float32Array(n);
  switch (dtype) {
    case "float32":
      out.set(data as Float32Array);
      return out;
    case "float16":
      for (let i = 0; i < n; i++) out[i] = float16BitsToFloat((data as Uint16Array)[i]!);
      return out;
    case "bfloat16": {
      const src = data as Uint16Array;
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = src[i]! << 16;
      return out;
    }
    case "float8_e4m3":
      for (let i = 0; i < n; i++) out[i] = float8e4m3ToFloat((data as Uint8Array)[i]!);
      return out;
    case "float8_e5m2":
      for (let i = 0; i < n; i++) out[i] = float8e5m2ToFloat((data as Uint8Array)[i]!);
      return out;
    case "int64":
    case "uint64":
      for (let i = 0; i < n; i++) out[i] = Number((data as BigInt64Array)[i]!);
      return out;
    default:
      for (let i = 0; i < n; i++) out[i] = Number((data as Float64Array)[i]!);
      return out;
  }
}

/** Converts float32 values to a dtype's storage, rounding to nearest (even for half floats). */
export function fromFloat32(values: Float32Array, dtype: DType): TensorArray {
  const n = values.length;
  switch (dtype) {
    case "float32":
      return values;
    case "float64":
      return Float64Array.from(values);
    case "float16": {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = floatToFloat16Bits(values[i]!);
      return out;
    }
    case "bfloat16": {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = floatToBfloat16Bits(values[i]!);
      return out;
    }
    case "int64":
      return BigInt64Array.from(values, (v) => BigInt(Math.round(v)));
    case "uint64":
      return BigUint64Array.from(values, (v) => BigInt(Math.max(0, Math.round(v))));
    case "int32":
      return Int32Array.from(values, Math.round);
    case "int16":
      return Int16Array.from(values, Math.round);
    case "int8":
      return Int8Array.from(values, Math.round);
    case "uint32":
      return Uint32Array.from(values, Math.round);
    case "uint16":
      return Uint16Array.from(values, Math.round);
    case "uint8":
      return Uint8Array.from(values, Math.round);
    case "bool":
      return Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0));
    case "float8_e4m3":
    case "float8_e5m2":
      throw new Error(`Writing ${dtype} tensors is not supported: 8-bit floats are read-only in Model Soup`);
  }
}

/** A typed array view of raw little-endian bytes for a dtype (copies when unaligned). */
export function viewAs(bytes: Uint8Array, dtype: DType, shape: readonly number[]): TensorArray {
  const n = elementCount(shape);
  const aligned = (size: number) => {
    if (bytes.byteOffset % size === 0) return bytes;
    return bytes.slice();
  };
  switch (dtype) {
    case "float64": {
      const b = aligned(8);
      return new Float64Array(b.buffer, b.byteOffset, n);
    }
    case "float32": {
      const b = aligned(4);
      return new Float32Array(b.buffer, b.byteOffset, n);
    }
    case "float16":
    case "bfloat16":
    case "uint16": {
      const b = aligned(2);
      return new Uint16Array(b.buffer, b.byteOffset, n);
    }
    case "int16": {
      const b = aligned(2);
      return new Int16Array(b.buffer, b.byteOffset, n);
    }
    case "int64": {
      const b = aligned(8);
      return new BigInt64Array(b.buffer, b.byteOffset, n);
    }
    case "uint64": {
      const b = aligned(8);
      return new BigUint64Array(b.buffer, b.byteOffset, n);
    }
    case "int32": {
      const b = aligned(4);
      return new Int32Array(b.buffer, b.byteOffset, n);
    }
    case "uint32": {
      const b = aligned(4);
      return new Uint32Array(b.buffer, b.byteOffset, n);
    }
    case "int8":
      return new Int8Array(bytes.buffer, bytes.byteOffset, n);
    case "uint8":
    case "bool":
    case "float8_e4m3":
    case "float8_e5m2":
      return new Uint8Array(bytes.buffer, bytes.byteOffset, n);
  }
}

/** The raw little-endian bytes of a typed array (a view, no copy). */
export function bytesOf(data: TensorArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
