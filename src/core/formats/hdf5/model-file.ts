import { toFloat32 } from "../../convert.js";
import { ModelFileError } from "../../errors.js";
import type { ModelFile, ModelManifest, ReadOptions } from "../../model.js";
import type { Tensor } from "../../tensor.js";
import { type DatasetInfo, readDataset } from "./datasets.js";
import { type H5File, translateHdf5Error } from "./open.js";

/** An open Keras HDF5 weights file: each readTensor reads one dataset, nothing more. */
export class Hdf5ModelFile implements ModelFile {
  private closed = false;

  constructor(
    readonly manifest: ModelManifest,
    private readonly file: H5File,
    private readonly datasets: ReadonlyMap<string, DatasetInfo>,
    private readonly onClose: () => Promise<void> = async () => undefined,
  ) {}

  async readTensor(name: string, options?: ReadOptions): Promise<Tensor> {
    if (this.closed) throw new Error(`${this.manifest.path} is closed`);
    const info = this.manifest.tensors.find((t) => t.name === name);
    const dataset = this.datasets.get(name);
    if (!info || !dataset) throw new ModelFileError(this.manifest.path, `has no tensor named "${name}"`);
    let data;
    try {
      data = readDataset(this.file, dataset);
    } catch (error) {
      throw translateHdf5Error(this.manifest.path, `cannot read tensor "${name}"`, error);
    }
    if (options?.float32 && info.dtype !== "float32") {
      return { ...info, dtype: "float32", data: toFloat32(data, info.dtype) };
    }
    return { ...info, data };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.file.close();
    await this.onClose();
  }
}
