import { writeFilesAtomically } from "../../io/atomic.js";
import type { ModelFile, ModelFormat, ModelManifest, TensorSource } from "../../model.js";
import { Hdf5ModelFile } from "../hdf5/model-file.js";
import { fileSource } from "../../io/byte-source.js";
import { firstEntryName, isZipHead } from "../../io/zip.js";
import { readWithJsMetadata } from "../hdf5/fast-read.js";
import { openKerasArchive, readKerasArchive, readKerasWeights } from "./read.js";
import { writeKerasArchive } from "./write.js";

const KERAS_ENTRY_NAMES = ["metadata.json", "config.json", "model.weights.h5"];

/** Keras 3 native format: a zip of config.json, metadata.json and model.weights.h5. */
export const kerasFormat: ModelFormat = {
  id: "keras",
  label: "Keras 3 (.keras)",
  shortLabel: "Keras",

  detect(path: string, head: Uint8Array): boolean {
    if (!isZipHead(head)) return false;
    // Keras writes metadata.json first.
    return /\.keras$/i.test(path) || KERAS_ENTRY_NAMES.includes(firstEntryName(head));
  },

  async readManifest(path: string): Promise<ModelManifest> {
    // model.weights.h5 is read in place inside the zip when stored (as Keras writes it), else extracted (streamed).
    const archive = await readKerasArchive(path);
    const entry = archive.weights;
    if (entry.method === 0) {
      const fast = await readWithJsMetadata(
        () => fileSource(path, entry.dataOffset, entry.size),
        (tree, bytes) => readKerasWeights(path, archive, tree, bytes),
      );
      if (fast) return fast.manifest;
    }
    const { weights, h5, contents } = await openKerasArchive(path);
    h5.close();
    await weights.remove();
    return contents.manifest;
  },

  async open(path: string): Promise<ModelFile> {
    const { weights, h5, contents } = await openKerasArchive(path);
    return new Hdf5ModelFile(contents.manifest, h5, contents.datasets, weights.remove);
  },

  async write(template: string, target: string, source: TensorSource): Promise<void> {
    const { archive, weights, h5, contents } = await openKerasArchive(template);
    h5.close();
    try {
      await writeFilesAtomically([
        { path: target, write: (temp) => writeKerasArchive(template, temp, archive, weights.path, contents, source) },
      ]);
    } finally {
      await weights.remove();
    }
  },
};
