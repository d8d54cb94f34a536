import { ModelFileError } from "../../errors.js";
import type { ModelFile, ModelFormat, ModelManifest, TensorSource } from "../../model.js";
import { writeFilesAtomically } from "../../io/atomic.js";
import { Hdf5ModelFile } from "../hdf5/model-file.js";
import { type H5File, fileSize, hdf5Reason, openHdf5 } from "../hdf5/open.js";
import { rewriteHdf5 } from "../hdf5/rewrite.js";
import { hasHdf5Signature } from "../hdf5/superblock.js";
import { fileSource } from "../../io/byte-source.js";
import { readWithJsMetadata } from "../hdf5/fast-read.js";
import { h5wasmTree } from "../hdf5/tree.js";
import { type KerasH5Contents, readKerasH5 } from "./read.js";

/** Reads the file's structure; HDF5 errors from a damaged file become ModelFileErrors naming it. */
async function readStructure(path: string, file: H5File): Promise<KerasH5Contents> {
  try {
    return await readKerasH5(path, h5wasmTree(file), await fileSize(path));
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    throw new ModelFileError(path, `cannot be read as a Keras HDF5 file (${hdf5Reason(error)})`);
  }
}

async function readContents(path: string): Promise<KerasH5Contents> {
  const file = await openHdf5(path, "r");
  try {
    return await readStructure(path, file);
  } finally {
    file.close();
  }
}

/** Keras HDF5: Keras 2 full models and weights-only files (with a sibling topology JSON), and Keras 3's legacy .h5. */
export const kerasH5Format: ModelFormat = {
  id: "keras-h5",
  label: "Keras HDF5 (.h5)",
  shortLabel: "Keras H5",

  detect(path: string, head: Uint8Array): boolean {
    return hasHdf5Signature(head) && !/\.keras$/i.test(path);
  },

  async readManifest(path: string): Promise<ModelManifest> {
    const fast = await readWithJsMetadata(
      () => fileSource(path),
      (tree, bytes) => readKerasH5(path, tree, bytes),
    );
    return (fast ?? (await readContents(path))).manifest;
  },

  async open(path: string): Promise<ModelFile> {
    const file = await openHdf5(path, "r");
    try {
      const { manifest, datasets } = await readStructure(path, file);
      return new Hdf5ModelFile(manifest, file, datasets);
    } catch (error) {
      file.close();
      throw error;
    }
  },

  async write(template: string, target: string, source: TensorSource): Promise<void> {
    const { manifest, datasets } = await readContents(template);
    const slots = manifest.tensors.map((info) => ({ info, dataset: datasets.get(info.name)! }));
    await writeFilesAtomically([
      {
        path: target,
        write: (temp) => rewriteHdf5(template, temp, slots, source, ["optimizer_weights"]).then(() => undefined),
      },
    ]);
  },
};
