import { ModelFileError } from "../../errors.js";
import { viewAs } from "../../convert.js";
import { BYTES_PER_ELEMENT, type DType, type TensorArray, elementCount, formatShape } from "../../tensor.js";
import { h5module, h5wasm } from "./module.js";
import { type H5File, hdf5Reason } from "./open.js";
import { VirtualDatasetError, type Hdf5DatasetHeader, type Hdf5Tree } from "./tree.js";

type H5Dataset = InstanceType<typeof h5wasm.Dataset>;

const H5T_INTEGER = 0;
const H5T_FLOAT = 1;
const H5T_ENUM = 8;

/** deflate cannot expand data more than about 1032:1, so a filtered dataset larger than that is a lie. */
const MAX_COMPRESSION_RATIO = 1032;

export interface DatasetInfo {
  path: string;
  shape: number[];
  dtype: DType;
  bytes: number;
  filtered: boolean;
}

function intDType(size: number, signed: boolean): DType | undefined {
  const table: Record<number, [DType, DType]> = {
    1: ["int8", "uint8"],
    2: ["int16", "uint16"],
    4: ["int32", "uint32"],
    8: ["int64", "uint64"],
  };
  const pair = table[size];
  return pair ? pair[signed ? 0 : 1] : undefined;
}

/** Maps an HDF5 datatype to a tensor dtype; h5py stores bool as an int8 enum, Keras 3 marks bfloat16 by an attribute. */
function dtypeOf(tree: Hdf5Tree, path: string, m: Hdf5DatasetHeader): DType | undefined {
  if (m.typeClass === H5T_FLOAT) {
    if (m.size === 8) return "float64";
    if (m.size === 4) return "float32";
    if (m.size === 2) return "float16";
    return undefined;
  }
  if (m.typeClass === H5T_INTEGER) {
    if (m.size === 2 && tree.attribute(path, "dtype") === "bfloat16") return "bfloat16";
    return intDType(m.size, m.signed);
  }
  if (m.typeClass === H5T_ENUM && m.size === 1) return "bool";
  return undefined;
}

export function getDataset(file: H5File, path: string): H5Dataset | undefined {
  let entity;
  try {
    entity = file.get(path);
  } catch {
    return undefined;
  }
  return entity instanceof h5wasm.Dataset ? entity : undefined;
}

/** Name, shape, dtype and size of a dataset, with its size checked against the file's. */
export function datasetInfo(tree: Hdf5Tree, path: string, fileName: string, fileBytes: number): DatasetInfo {
  if (tree.kind(path) !== "dataset") throw new ModelFileError(fileName, `has no dataset at "${path}"`);
  try {
    return checkedInfo(tree, path, fileName, fileBytes);
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    if (error instanceof VirtualDatasetError) {
      throw new ModelFileError(
        fileName,
        `has ${error.message}; Model Soup reads and writes only self-contained HDF5 files`,
      );
    }
    throw new ModelFileError(fileName, `has a dataset "${path}" that HDF5 cannot open (${hdf5Reason(error)})`);
  }
}

function checkedInfo(tree: Hdf5Tree, path: string, fileName: string, fileBytes: number): DatasetInfo {
  const header = tree.dataset(path);
  const dtype = dtypeOf(tree, path, header);
  if (!dtype) {
    throw new ModelFileError(
      fileName,
      `has a dataset "${path}" of an HDF5 type Model Soup does not read (expected float or integer)`,
    );
  }
  const shape = header.shape;
  if (!shape) throw new ModelFileError(fileName, `has an empty (null dataspace) dataset "${path}"; expected a tensor`);
  const bytes = elementCount(shape) * BYTES_PER_ELEMENT[dtype];
  const filtered = header.filterCount > 0;
  const limit = filtered ? fileBytes * MAX_COMPRESSION_RATIO : fileBytes;
  if (bytes > limit) {
    throw new ModelFileError(
      fileName,
      `declares dataset "${path}" of shape ${formatShape(shape)} (${bytes} bytes), more than the file's ${fileBytes} bytes can hold`,
    );
  }
  return { path, shape, dtype, bytes, filtered };
}

/** Reads a whole dataset's values as stored (little-endian), one dataset only. */
export function readDataset(file: H5File, info: DatasetInfo): TensorArray {
  const module = h5module();
  const pointer = module._malloc(Math.max(info.bytes, 1));
  if (!pointer) throw new Error(`Out of memory reading ${info.path} (${info.bytes} bytes)`);
  try {
    module.get_dataset_data(file.file_id, info.path, null, null, null, BigInt(pointer));
    const bytes = module.HEAPU8.slice(pointer, pointer + info.bytes);
    return viewAs(bytes, info.dtype, info.shape);
  } finally {
    module._free(pointer);
  }
}

/** Overwrites a whole dataset's values in place; `bytes` must be the dataset's exact size, little-endian. */
export function writeDataset(file: H5File, info: DatasetInfo, bytes: Uint8Array): void {
  if (bytes.byteLength !== info.bytes) {
    throw new Error(`Writing ${info.path}: ${bytes.byteLength} bytes given, the dataset holds ${info.bytes}`);
  }
  const module = h5module();
  const pointer = module._malloc(Math.max(info.bytes, 1));
  if (!pointer) throw new Error(`Out of memory writing ${info.path} (${info.bytes} bytes)`);
  try {
    module.HEAPU8.set(bytes, pointer);
    module.set_dataset_data(file.file_id, info.path, null, null, null, BigInt(pointer));
  } finally {
    module._free(pointer);
  }
}

export type { H5Dataset };
