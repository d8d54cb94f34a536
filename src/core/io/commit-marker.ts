/**
 * The mark a writer leaves in a folder while it renames a multi-file output into place (io/atomic.ts): a file
 * `.model-soup.commit` holding the writer's pid, made before the first rename and removed after the last. Between
 * those renames the folder holds half of the new model and half of the old; readers (io/consistent-read.ts) wait
 * while the mark is there and its writer lives, and read again when it appeared during their read. Renames take
 * milliseconds, so the wait is short; a mark left by a killed writer names a dead pid and is ignored (and removed by
 * the next writer's commit).
 */
import { readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { forgetTemp, isProcessAlive, trackTemp } from "./temp-files.js";

export const COMMIT_MARKER = ".model-soup.commit";

/** Marks each folder as being committed by this process; returns what removes the marks. */
export async function markCommitting(folders: readonly string[]): Promise<() => Promise<void>> {
  const marks = folders.map((f) => join(f, COMMIT_MARKER));
  const own = String(process.pid);
  for (const mark of marks) {
    trackTemp(mark);
    await writeFile(mark, own);
  }
  return async () => {
    for (const mark of marks) {
      const holder = await readFile(mark, "utf8").catch(() => undefined);
      if (holder === own) await unlink(mark).catch(() => undefined);
      forgetTemp(mark);
    }
  };
}

/** Whether a live process is renaming files into `folder` now. */
export async function isCommitting(folder: string): Promise<boolean> {
  const holder = await readFile(join(folder, COMMIT_MARKER), "utf8").catch(() => undefined);
  if (holder === undefined) return false;
  const pid = Number(holder);
  // An empty or partly written mark is a writer that is making it now.
  if (!Number.isInteger(pid) || pid <= 0) return true;
  return isProcessAlive(pid);
}
