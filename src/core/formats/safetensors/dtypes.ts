import type { DType } from "../../tensor.js";

/** safetensors dtype codes (as the reference implementation spells them) and Model Soup's DType names. */
const FROM_CODE: Readonly<Record<string, DType>> = {
  F64: "float64",
  F32: "float32",
  F16: "float16",
  BF16: "bfloat16",
  F8_E4M3: "float8_e4m3",
  F8_E5M2: "float8_e5m2",
  I64: "int64",
  I32: "int32",
  I16: "int16",
  I8: "int8",
  U64: "uint64",
  U32: "uint32",
  U16: "uint16",
  U8: "uint8",
  BOOL: "bool",
};

const TO_CODE = Object.fromEntries(Object.entries(FROM_CODE).map(([code, dtype]) => [dtype, code])) as Record<
  DType,
  string
>;

export const SAFETENSORS_DTYPE_CODES: readonly string[] = Object.keys(FROM_CODE);

export function dtypeFromCode(code: string): DType | undefined {
  return Object.prototype.hasOwnProperty.call(FROM_CODE, code) ? FROM_CODE[code] : undefined;
}

export function codeFromDtype(dtype: DType): string {
  return TO_CODE[dtype];
}
