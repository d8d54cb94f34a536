import { bytesOf, fromFloat32 } from "../../convert.js";
import { UsageError } from "../../errors.js";
import { type DType, type TensorArray, type TensorInfo, elementCount } from "../../tensor.js";

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

/**
 * The bytes to store for a tensor: float32 values are converted to the tensor's dtype; any other array must
 * already be the dtype's storage (e.g. Uint16Array bit patterns for float16).
 */
export function encodeTensorData(target: string, info: TensorInfo, data: Float32Array | TensorArray): Uint8Array {
  const count = elementCount(info.shape);
  const storage = STORAGE[info.dtype];
  if (data.length !== count) {
    throw new UsageError(`${target}: tensor "${info.name}" was given ${data.length} values; expected ${count} for shape [${info.shape.join(", ")}]`);
  }
  if (data instanceof Float32Array) return bytesOf(fromFloat32(data, info.dtype));
  if (data.constructor !== storage) {
    throw new UsageError(
      `${target}: tensor "${info.name}" (${info.dtype}) was given a ${data.constructor.name}; expected a Float32Array or a ${storage.name}`,
    );
  }
  return bytesOf(data);
}
