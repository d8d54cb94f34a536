import { randomBytes } from "node:crypto";
import { rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export interface PendingFile {
  /** Where the file must end up. */
  path: string;
  /** Writes the whole file at the temporary path it is given. */
  write(tempPath: string): Promise<void>;
}

export function tempPathBeside(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
}

/**
 * Writes every file to a temporary path in its target folder, then renames them into place in the given
 * order (put the file that points at the others last). If any write fails, every temporary is removed and
 * no target is touched.
 */
export async function writeFilesAtomically(files: PendingFile[]): Promise<void> {
  const temps = files.map((f) => tempPathBeside(f.path));
  try {
    for (let i = 0; i < files.length; i++) await files[i]!.write(temps[i]!);
  } catch (error) {
    await Promise.all(temps.map((t) => unlink(t).catch(() => undefined)));
    throw error;
  }
  for (let i = 0; i < files.length; i++) await rename(temps[i]!, files[i]!.path);
}
