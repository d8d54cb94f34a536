import { bytesOf, floatToBfloat16Bits, floatToFloat16Bits, fromFloat32 } from "../../convert.js";
import { UsageError } from "../../errors.js";
import { BYTES_PER_ELEMENT, type DType, type TensorArray, type TensorInfo, elementCount } from "../../tensor.js";

type ArrayConstructor = { new (length: number): TensorArray; readonly name: string };

const STORAGE: Record<DType, ArrayConstructor> = {
  float64: Float64Array,
  float32: Float32Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  float8_e4m3: Uint8Array,
  float8_e5m2: Uint8Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint64: BigUint64Array,
  uint32: Uint32Array,
  uint16: Uint16Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

/** Grows to the largest piece encoded, so a streamed write does not allocate fresh memory per piece. */
export type ScratchFor = (bytes: number) => Uint8Array;

/** float32 -> half floats and float64 written into reusable scratch memory; other dtypes through convert.ts. */
function encodeFloats(values: Float32Array, dtype: DType, scratch: ScratchFor): Uint8Array {
  const n = values.length;
  const bytes = scratch(n * BYTES_PER_ELEMENT[dtype]).subarray(0, n * BYTES_PER_ELEMENT[dtype]);
  switch (dtype) {
    case "float16": {
      const out = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
      for (let i = 0; i < n; i++) out[i] = floatToFloat16Bits(values[i]!);
      return bytes;
    }
    case "bfloat16": {
      const out = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
      for (let i = 0; i < n; i++) out[i] = floatToBfloat16Bits(values[i]!);
      return bytes;
    }
    case "float64":
      new Float64Array(bytes.buffer, bytes.byteOffset, n).set(values);
      return bytes;
    default:
      return bytesOf(fromFloat32(values, dtype));
  }
}

/**
 * The bytes to store for `data`, a whole tensor or a piece of one: float32 values are converted to the
 * tensor's dtype; any other array must already be the dtype's storage (e.g. Uint16Array bits for float16).
 */
export function encodeValues(
  target: string,
  info: TensorInfo,
  data: Float32Array | TensorArray,
  scratch?: ScratchFor,
): Uint8Array {
  if (data instanceof Float32Array) {
    if (info.dtype === "float32") return bytesOf(data);
    return scratch ? encodeFloats(data, info.dtype, scratch) : bytesOf(fromFloat32(data, info.dtype));
  }
  const storage = STORAGE[info.dtype];
  if (data.constructor !== storage) {
    throw new UsageError(
      `${target}: tensor "${info.name}" (${info.dtype}) was given a ${data.constructor.name}; expected a Float32Array or a ${storage.name}`,
    );
  }
  return bytesOf(data);
}

/** The bytes to store for a whole tensor (see encodeValues), checked against its shape. */
export function encodeTensorData(target: string, info: TensorInfo, data: Float32Array | TensorArray): Uint8Array {
  const count = elementCount(info.shape);
  if (data.length !== count) {
    throw new UsageError(
      `${target}: tensor "${info.name}" was given ${data.length} values; expected ${count} for shape [${info.shape.join(", ")}]`,
    );
  }
  return encodeValues(target, info, data);
}
