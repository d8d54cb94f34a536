import { type ZipEntry, ZipArchive } from "../../src/core/io/zip.js";

/** A zip's entries, from its central directory. */
export function zipEntries(file: string): ZipEntry[] {
  const archive = ZipArchive.open(file);
  archive.close();
  return archive.entries;
}

/** One entry's bytes, inflated and checked against its CRC-32. */
export function readZipEntry(file: string, entry: ZipEntry): Uint8Array {
  const archive = ZipArchive.open(file);
  try {
    return archive.read(entry);
  } finally {
    archive.close();
  }
}
