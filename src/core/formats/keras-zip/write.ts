import { readFile, writeFile } from "node:fs/promises";
import { type ZipOptions, zipSync } from "fflate";
import { ModelFileError } from "../../errors.js";
import type { TensorSource } from "../../model.js";
import { rewriteHdf5 } from "../hdf5/rewrite.js";
import { removeTemp, tempPathBeside } from "../../io/atomic.js";
import type { KerasArchive, KerasZipContents } from "./read.js";
import { WEIGHTS_ENTRY } from "./read.js";
import { type ZipEntry, ZipArchive } from "../../io/zip.js";

function dosDateTime(entry: ZipEntry): Date {
  const d = entry.dosDate;
  const t = entry.dosTime;
  return new Date(1980 + (d >> 9), ((d >> 5) & 0xf) - 1, d & 0x1f, t >> 11, (t >> 5) & 0x3f, (t & 0x1f) * 2);
}

/**
 * Writes a .keras archive at `output`: every entry of the template in its order, byte for byte (config.json,
 * metadata.json, assets), except model.weights.h5, rewritten in place with the new tensor values and without
 * the optimizer's variables. Entries keep their compression method and timestamps.
 */
export async function writeKerasArchive(
  template: string,
  output: string,
  archive: KerasArchive,
  extractedWeights: string,
  contents: KerasZipContents,
  source: TensorSource,
): Promise<void> {
  const weightsCopy = tempPathBeside(output);
  try {
    const slots = contents.manifest.tensors.map((info) => ({ info, dataset: contents.datasets.get(info.name)! }));
    await rewriteHdf5(extractedWeights, weightsCopy, slots, source, ["optimizer"]).catch((error: unknown) => {
      // The weights were extracted to a private copy: name the archive the user gave.
      if (error instanceof ModelFileError && error.file === extractedWeights)
        throw new ModelFileError(template, `model.weights.h5 ${error.expected}`);
      throw error;
    });
    const files: Record<string, [Uint8Array, ZipOptions & { mtime: Date }]> = {};
    const zip = ZipArchive.open(template);
    try {
      for (const entry of archive.entries) {
        const data = entry.name === WEIGHTS_ENTRY ? new Uint8Array(await readFile(weightsCopy)) : zip.read(entry);
        files[entry.name] = [data, { level: entry.method === 0 ? 0 : 6, mtime: dosDateTime(entry) }];
      }
    } finally {
      zip.close();
    }
    await writeFile(output, zipSync(files));
  } finally {
    await removeTemp(weightsCopy);
  }
}
