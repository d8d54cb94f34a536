import { copyFile } from "node:fs/promises";
import { bytesOf, fromFloat32 } from "../../convert.js";
import { ModelFileError } from "../../errors.js";
import type { TensorSource } from "../../model.js";
import { type DType, type TensorArray, type TensorInfo, elementCount, formatShape } from "../../tensor.js";
import { type DatasetInfo, getDataset, writeDataset } from "./datasets.js";
import { h5wasm } from "./module.js";
import { type H5File, openHdf5, translateHdf5Error } from "./open.js";
import { unlinkRootChild } from "./unlink.js";

export interface WeightSlot {
  info: TensorInfo;
  dataset: DatasetInfo;
}

const STORAGE: Record<DType, string> = {
  float64: "Float64Array",
  float32: "Float32Array",
  float16: "Uint16Array",
  bfloat16: "Uint16Array",
  float8_e4m3: "Uint8Array",
  float8_e5m2: "Uint8Array",
  int64: "BigInt64Array",
  int32: "Int32Array",
  int16: "Int16Array",
  int8: "Int8Array",
  uint64: "BigUint64Array",
  uint32: "Uint32Array",
  uint16: "Uint16Array",
  uint8: "Uint8Array",
  bool: "Uint8Array",
};

/** The bytes to store for a tensor: float32 values are converted to the template's dtype, others must match it. */
function encode(template: string, slot: WeightSlot, data: Float32Array | TensorArray): Uint8Array {
  const { info } = slot;
  const expected = elementCount(info.shape);
  if (data.length !== expected) {
    throw new ModelFileError(
      template,
      `tensor "${info.name}" has shape ${formatShape(info.shape)} (${expected} values); the merged data has ${data.length}`,
    );
  }
  let values: TensorArray = data;
  if (data instanceof Float32Array && info.dtype !== "float32") values = fromFloat32(data, info.dtype);
  if (values.constructor.name !== STORAGE[info.dtype]) {
    throw new Error(`Tensor "${info.name}" is ${info.dtype}; got a ${data.constructor.name} for it`);
  }
  return bytesOf(values);
}

function datasetPathsUnder(file: H5File, path: string): string[] {
  const group = file.get(path);
  if (!(group instanceof h5wasm.Group)) return [];
  return group
    .paths()
    .map((p) => (p.startsWith("/") ? p : `${path}/${p}`))
    .filter((p) => getDataset(file, p) !== undefined);
}

/**
 * Copies an HDF5 template to `output`, overwrites the given datasets in place (same dtype, same shape, every
 * attribute and string type untouched), and drops the given root groups (optimizer state): their data is
 * zeroed first, then their link is removed. Returns the groups that could not be unlinked (left zeroed).
 */
export async function rewriteHdf5(
  template: string,
  output: string,
  slots: readonly WeightSlot[],
  source: TensorSource,
  dropRootGroups: readonly string[],
): Promise<string[]> {
  await copyFile(template, output);
  try {
    return await rewriteCopy(output, slots, source, dropRootGroups, template);
  } catch (error) {
    throw translateHdf5Error(template, "cannot be rewritten: its HDF5 structure is damaged", error);
  }
}

async function rewriteCopy(
  output: string,
  slots: readonly WeightSlot[],
  source: TensorSource,
  dropRootGroups: readonly string[],
  template: string,
): Promise<string[]> {
  const file = await openHdf5(output, "a");
  const present: string[] = [];
  try {
    for (const slot of slots) {
      const data = await source(slot.info);
      if (data !== undefined) writeDataset(file, slot.dataset, encode(template, slot, data));
    }
    for (const name of dropRootGroups) {
      if (!file.keys().includes(name)) continue;
      present.push(name);
      for (const path of datasetPathsUnder(file, `/${name}`)) {
        const dataset = getDataset(file, path)!;
        const metadata = dataset.metadata;
        if (metadata.vlen) continue;
        const bytes = new Uint8Array(metadata.total_size * metadata.size);
        writeDataset(
          file,
          { path, shape: dataset.shape ?? [], dtype: "uint8", bytes: bytes.length, filtered: false },
          bytes,
        );
      }
    }
    file.flush();
  } finally {
    file.close();
  }
  const kept: string[] = [];
  for (const name of present) if (!(await unlinkRootChild(output, name))) kept.push(name);
  return kept;
}
