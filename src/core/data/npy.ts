import { viewAs } from "../convert.js";
import { ModelFileError } from "../errors.js";
import { BYTES_PER_ELEMENT, type DType, type TensorArray, formatShape } from "../tensor.js";

/** An array read from a .npy file: raw values in their own dtype, C order. */
export interface NpyArray {
  descr: string;
  dtype: DType;
  shape: number[];
  data: TensorArray;
  /** Set when `data` is a fresh float32 array no one else holds, so a Dataset may keep it without a copy. */
  owned?: boolean;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

const DTYPES: Record<string, DType> = {
  f2: "float16",
  f4: "float32",
  f8: "float64",
  i1: "int8",
  i2: "int16",
  i4: "int32",
  i8: "int64",
  u1: "uint8",
  u2: "uint16",
  u4: "uint32",
  u8: "uint64",
  b1: "bool",
};

export function isNpy(head: Uint8Array): boolean {
  return MAGIC.every((b, i) => head[i] === b);
}

/** Parses a whole .npy file (format versions 1.0, 2.0 and 3.0) held in memory. */
export function parseNpy(bytes: Uint8Array, file: string): NpyArray {
  const layout = parseNpyPrefix(bytes, bytes.length, file);
  const { descr, dtype, shape, dataOffset } = layout;
  return { descr, dtype, shape, data: viewAs(bytes.subarray(dataOffset), dtype, shape) };
}

/** Where a .npy file's data lies and what it holds, from its first bytes (at least the header) and its size. */
export interface NpyLayout {
  descr: string;
  dtype: DType;
  shape: number[];
  dataOffset: number;
  count: number;
}

/** Reads the magic, version and header from `prefix` and checks the data's size against `fileSize`. */
export function parseNpyPrefix(prefix: Uint8Array, fileSize: number, file: string): NpyLayout {
  if (fileSize < 10 || prefix.length < 10 || !isNpy(prefix))
    throw new ModelFileError(
      file,
      `not a NumPy .npy file (expected the magic "\\x93NUMPY" at the start${fileSize === 0 ? "; the file is empty" : ""})`,
    );
  const major = prefix[6]!;
  const minor = prefix[7]!;
  if (major < 1 || major > 3 || minor !== 0)
    throw new ModelFileError(file, `unsupported .npy format version ${major}.${minor} (expected 1.0, 2.0 or 3.0)`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (prefix.length < 8 + lengthBytes)
    throw new ModelFileError(file, "truncated .npy file: the header length is cut off");
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataOffset = 8 + lengthBytes + headerLength;
  if (dataOffset > fileSize || dataOffset > prefix.length)
    throw new ModelFileError(
      file,
      `truncated .npy file: the header claims ${headerLength} bytes but the file has ${fileSize} bytes in all`,
    );
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(prefix.subarray(8 + lengthBytes, dataOffset));
  const { descr, fortranOrder, shape } = parseHeader(header, file);
  if (fortranOrder)
    throw new ModelFileError(
      file,
      "the array is stored in Fortran order; only C order is supported (save it with np.ascontiguousarray(x))",
    );
  const dtype = dtypeOf(descr, file);
  const count = shape.reduce((a, b) => a * b, 1);
  const expectedBytes = count * BYTES_PER_ELEMENT[dtype];
  const available = fileSize - dataOffset;
  if (available < expectedBytes)
    throw new ModelFileError(
      file,
      `truncated .npy file: shape ${formatShape(shape)} of ${descr} needs ${expectedBytes} data bytes but only ${available} follow the header`,
    );
  if (available > expectedBytes)
    throw new ModelFileError(
      file,
      `shape ${formatShape(shape)} of ${descr} needs ${expectedBytes} data bytes but ${available} follow the header`,
    );
  return { descr, dtype, shape, dataOffset, count };
}

function parseHeader(header: string, file: string): { descr: string; fortranOrder: boolean; shape: number[] } {
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  if (descr === undefined) {
    if (/['"]descr['"]\s*:\s*\[/.test(header))
      throw new ModelFileError(file, "structured (record) arrays are not supported; expected a plain numeric array");
    throw new ModelFileError(file, `bad .npy header (no 'descr'): ${JSON.stringify(header.trim())}`);
  }
  const order = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  if (order === undefined)
    throw new ModelFileError(file, `bad .npy header (no 'fortran_order'): ${JSON.stringify(header.trim())}`);
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined)
    throw new ModelFileError(file, `bad .npy header (no 'shape'): ${JSON.stringify(header.trim())}`);
  const shape: number[] = [];
  for (const part of shapeText.split(",")) {
    const t = part.trim().replace(/L$/, "");
    if (t === "") continue;
    if (!/^\d+$/.test(t))
      throw new ModelFileError(file, `bad .npy header: shape (${shapeText}) is not a tuple of sizes`);
    shape.push(Number(t));
  }
  return { descr, fortranOrder: order === "True", shape };
}

function dtypeOf(descr: string, file: string): DType {
  const order = descr[0];
  const dtype = DTYPES[descr.slice(1)];
  const supported = "<f2 <f4 <f8 <i1..<i8 <u1..<u8 |b1";
  if (dtype === undefined || !"<|=>".includes(order ?? "x"))
    throw new ModelFileError(file, `unsupported dtype '${descr}' (supported: ${supported})`);
  if (order === ">" && BYTES_PER_ELEMENT[dtype] > 1)
    throw new ModelFileError(
      file,
      `big-endian dtype '${descr}' is not supported (expected little-endian: ${supported}); convert with x.astype(x.dtype.newbyteorder("<"))`,
    );
  return dtype;
}
