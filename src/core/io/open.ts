import { open, type FileHandle } from "node:fs/promises";
import { ModelFileError } from "../errors.js";

/** The error every reader gives for a file the system will not open or stat (missing, a folder, no permission). */
export function cannotOpen(path: string, error: unknown): ModelFileError {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === undefined ? undefined : SYSTEM_REASONS[code];
  return new ModelFileError(path, `cannot be opened${why ? `: ${why}` : ""} (${code ?? String(error)})`);
}

const SYSTEM_REASONS: Record<string, string> = {
  ENOENT: "no such file or folder",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ENOTDIR: "a part of the path is not a folder",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "the path is too long",
};

/** Opens a file for reading, failing with a ModelFileError that names it. */
export async function openForReading(path: string): Promise<FileHandle> {
  try {
    return await open(path, "r");
  } catch (error) {
    throw cannotOpen(path, error);
  }
}

/** A file's first bytes: `length` of them, or all of a shorter file. */
export async function readHead(path: string, length: number): Promise<Uint8Array> {
  const handle = await openForReading(path);
  try {
    const head = new Uint8Array(length);
    const { bytesRead } = await handle.read(head, 0, length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
