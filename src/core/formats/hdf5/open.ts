import { stat } from "node:fs/promises";
import { ModelFileError } from "../../errors.js";
import { h5wasm, h5wasmReady, type H5File } from "./module.js";
import { SUPERBLOCK_PROBE, hdf5SignatureOffset, readSuperblock } from "./superblock.js";
import { openForReading } from "../../io/open.js";
import { refuseForeignStorage } from "./foreign-storage.js";

/** Checks the signature and the recorded file length before HDF5 sees the file, for errors that say what is wrong. */
export async function checkHdf5File(path: string): Promise<void> {
  const handle = await openForReading(path);
  try {
    const { size } = await handle.stat();
    const head = new Uint8Array(Math.min(SUPERBLOCK_PROBE, size));
    await handle.read(head, 0, head.length, 0);
    const at = hdf5SignatureOffset(head);
    if (at === undefined) {
      throw new ModelFileError(path, "is not an HDF5 file: the HDF5 signature (\\x89HDF\\r\\n\\x1a\\n) was not found");
    }
    const superblock = readSuperblock(head, at);
    if (superblock === undefined) {
      throw new ModelFileError(path, "has an HDF5 superblock that is cut short or of an unknown version");
    }
    const eof = superblock.endOfFile;
    if (at + eof > size) {
      throw new ModelFileError(
        path,
        `is truncated: its HDF5 superblock records ${at + eof} bytes, the file has ${size}`,
      );
    }
  } finally {
    await handle.close();
  }
}

/** The most specific line of an HDF5 error stack (the deepest "#00N" entry). */
export function hdf5Reason(error: unknown): string {
  const text = String(error instanceof Error ? error.message : error);
  const entries = text.split("\n").filter((l) => /#\d{3}:/.test(l));
  const last = entries[entries.length - 1];
  const reason = last ? last.replace(/^.*?\): /, "").trim() : text.split("\n")[0]!.trim();
  return reason || "unknown HDF5 error";
}

/**
 * An error from h5wasm (HDF5's diagnostic stack, "HDF5-DIAG: ...") turned into a one-line ModelFileError naming
 * `file`; any other error (a cancellation, a refusal from the caller's own code) is returned unchanged.
 */
export function translateHdf5Error(file: string, action: string, error: unknown): unknown {
  if (error instanceof ModelFileError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (!/HDF5-DIAG|HDF5 error|H5[A-Z]\w*\(\)/.test(message)) return error;
  return new ModelFileError(file, `${action} (HDF5: ${hdf5Reason(error)})`);
}

/** Opens an HDF5 file with h5wasm after checking it, turning HDF5's errors into ModelFileErrors. */
export async function openHdf5(path: string, mode: "r" | "a" = "r"): Promise<H5File> {
  await checkHdf5File(path);
  refuseForeignStorage(path, mode === "a");
  await h5wasmReady();
  try {
    return new h5wasm.File(path, mode);
  } catch (error) {
    throw new ModelFileError(path, `cannot be read as HDF5 (${hdf5Reason(error)})`);
  }
}

export async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}

export type { H5File };
