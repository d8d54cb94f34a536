/**
 * Reads of a multi-file model (a TF.js model.json and its shards, a safetensors index and its shards, a recipe and
 * the model it describes) that never see a half-replaced output: a writer renames the new files into place one
 * by one (shards first, the entry file after them, the recipe last) with a commit mark in the folder
 * (io/commit-marker.ts). A reader waits while the mark is there, notes the entry file's identity (inode, size,
 * mtime), reads, and reads again when a mark appeared meanwhile or the entry file was replaced: a commit that
 * overlapped the read either was still marked at its end or renamed the entry file (it always does, after the
 * shards). So the read is of the old complete model or the new one.
 */
import { stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { ModelFileError } from "../errors.js";
import { isCommitting } from "./commit-marker.js";

/** How long a reader waits for one commit to end (renames take milliseconds; a test may pause between them). */
const COMMIT_WAIT_MS = Number(process.env.MODEL_SOUP_COMMIT_WAIT_MS ?? 10_000);
const POLL_MS = 10;
const ATTEMPTS = 5;

type Identity = string | undefined;

async function identityOf(path: string): Promise<Identity> {
  const s = await stat(path, { bigint: true }).catch(() => undefined);
  return s && `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

async function waitWhileCommitting(folder: string): Promise<void> {
  const deadline = Date.now() + COMMIT_WAIT_MS;
  while ((await isCommitting(folder)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, POLL_MS));
}

/**
 * Runs `read` of the model or recipe whose entry file is `entry` so that it sees one complete output: again, up
 * to a few times, when a writer replaced it meanwhile. A read that fails while a commit overlapped it is retried
 * too (it may have met the new index with an old shard); one that fails without a commit fails as it is.
 */
export async function readConsistently<T>(entry: string, read: () => Promise<T>): Promise<T> {
  const folder = dirname(resolve(entry));
  for (let attempt = 1; ; attempt++) {
    await waitWhileCommitting(folder);
    const before = await identityOf(entry);
    let result: { value: T } | { error: unknown };
    try {
      result = { value: await read() };
    } catch (error) {
      result = { error };
    }
    const changed = (await isCommitting(folder)) || (await identityOf(entry)) !== before;
    if (!changed) {
      if ("error" in result) throw result.error;
      return result.value;
    }
    if (attempt >= ATTEMPTS)
      throw new ModelFileError(
        entry,
        `was replaced by another process ${ATTEMPTS} times while it was read; try again when it has finished writing`,
      );
  }
}
