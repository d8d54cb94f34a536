/** Element types found in model files, named as TensorFlow names them. */
export type DType =
  | "float64"
  | "float32"
  | "float16"
  | "bfloat16"
  | "float8_e4m3"
  | "float8_e5m2"
  | "int64"
  | "int32"
  | "int16"
  | "int8"
  | "uint64"
  | "uint32"
  | "uint16"
  | "uint8"
  | "bool";

/** The typed array that holds each dtype's raw values (half floats stay as their bit patterns). */
export type TensorArray =
  | Float64Array
  | Float32Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint32Array
  | Uint16Array
  | Uint8Array;

export interface TensorInfo {
  /** The tensor's name as its file names it; the key for reading and writing it. */
  name: string;
  shape: number[];
  dtype: DType;
  /** The layer (or module path) the tensor belongs to, used for layer-wise coefficients. */
  layer: string;
}

export interface Tensor extends TensorInfo {
  data: TensorArray;
}

export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float8_e4m3: 1,
  float8_e5m2: 1,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint64: 8,
  uint32: 4,
  uint16: 2,
  uint8: 1,
  bool: 1,
};

export function isFloat(dtype: DType): boolean {
  return dtype.startsWith("float") || dtype === "bfloat16";
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
