/**
 * Atomic output: every file is written under a temporary name in its target folder and renamed into place
 * only when all of them are complete. Temporary names say whose they are (`.model-soup-tmp-<pid>-<hex>-<name>`),
 * so a run killed with SIGKILL leaves files the next run writing to that folder recognises and removes.
 */
import { randomBytes } from "node:crypto";
import { rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { OutputWriteError } from "../errors.js";
import { forgetTemp, removeStaleTemps, trackTemp } from "./temp-files.js";

export interface PendingFile {
  /** Where the file must end up. */
  path: string;
  /** Writes the whole file at the temporary path it is given. */
  write(tempPath: string): Promise<void>;
}

export const TEMP_PREFIX = ".model-soup-tmp-";

/** A fresh temporary path beside `target`, tracked until it is renamed or removed (see temp-files.ts). */
export function tempPathBeside(target: string): string {
  const path = join(
    dirname(target),
    `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString("hex")}-${basename(target)}`,
  );
  trackTemp(path);
  return path;
}

/** Removes a temporary file made by tempPathBeside (missing is fine). */
export async function removeTemp(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
  forgetTemp(path);
}

const WRITE_ERROR_CODES = new Set([
  "ENOSPC",
  "EDQUOT",
  "EFBIG",
  "EACCES",
  "EPERM",
  "EROFS",
  "EIO",
  "ENOENT",
  "ENOTDIR",
  "EISDIR",
  "EEXIST",
]);

/** A system error while writing becomes an error naming the output file it was for; others pass through. */
function asWriteError(error: unknown, target: string): unknown {
  const code = (error as NodeJS.ErrnoException)?.code;
  return typeof code === "string" && WRITE_ERROR_CODES.has(code) ? new OutputWriteError(target, code) : error;
}

/**
 * Writes every file to a temporary path in its target folder, then renames them into place in the given
 * order (put the file that points at the others last). If any write fails, every temporary is removed and
 * no target is touched. Stale temporaries of killed runs in those folders are removed first.
 */
export async function writeFilesAtomically(files: PendingFile[]): Promise<void> {
  for (const folder of new Set(files.map((f) => dirname(f.path)))) await removeStaleTemps(folder);
  const temps = files.map((f) => tempPathBeside(f.path));
  try {
    for (let i = 0; i < files.length; i++) {
      try {
        await files[i]!.write(temps[i]!);
      } catch (error) {
        throw asWriteError(error, files[i]!.path);
      }
    }
  } catch (error) {
    await Promise.all(temps.map(removeTemp));
    throw error;
  }
  for (let i = 0; i < files.length; i++) {
    try {
      await rename(temps[i]!, files[i]!.path);
    } catch (error) {
      await Promise.all(temps.slice(i).map(removeTemp));
      throw asWriteError(error, files[i]!.path);
    }
    forgetTemp(temps[i]!);
  }
}
