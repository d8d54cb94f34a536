import { float16BitsToFloat } from "../../convert.js";
import type { DType } from "../../tensor.js";

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
      for (let i = 0; i < bits.length; i++) result[i] = float16BitsToFloat(bits[i]!);
      return result;
    }
    default:
      throw new Error(`decodeFloatsInto: ${dtype} is not a mergeable float dtype`);
  }
}
