/**
 * Atomic output: every file is written under a temporary name in its target folder and renamed into place
 * only when all of them are complete. Temporary names say whose they are (`.model-soup-tmp-<pid>-<hex>-<name>`),
 * so a run killed with SIGKILL leaves files the next run writing to that folder recognises and removes.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import { rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { OutputWriteError } from "../errors.js";
import { markCommitting } from "./commit-marker.js";
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

/** A complete temporary file and where it goes. */
export interface StagedFile {
  temp: string;
  path: string;
}

/**
 * Files written by several writers (a model's shards and entry file, then its recipe) that must appear together:
 * while `stageOutputs` runs, writeFilesAtomically leaves its complete temporaries here instead of renaming them,
 * and they are renamed in the order they were staged once every one is written.
 */
export class StagedOutputs {
  readonly files: StagedFile[] = [];

  /** Renames every staged file into place, in staging order. */
  async commit(): Promise<void> {
    const files = this.files.splice(0);
    await renameIntoPlace(files);
  }

  /** Removes every staged temporary (nothing was moved into place). */
  async discard(): Promise<void> {
    await Promise.all(this.files.splice(0).map((f) => removeTemp(f.temp)));
  }
}

const staging = new AsyncLocalStorage<StagedOutputs>();

/**
 * Runs `work` with every writeFilesAtomically inside it staged rather than renamed; the staged files are
 * discarded when `work` fails. The caller commits them (after `work`, under its output lock).
 */
export async function stageOutputs<T>(work: (staged: StagedOutputs) => Promise<T>): Promise<T> {
  const staged = new StagedOutputs();
  try {
    return await staging.run(staged, () => work(staged));
  } catch (error) {
    await staged.discard();
    throw error;
  }
}

/**
 * MODEL_SOUP_COMMIT_PAUSE_MS: a pause between the renames of one output, for tests that race writers: it widens
 * the moment in which an output is half moved, which the output lock must keep other writers out of.
 */
function commitPause(): Promise<void> | undefined {
  const ms = Number(process.env.MODEL_SOUP_COMMIT_PAUSE_MS ?? 0);
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : undefined;
}

async function renameIntoPlace(files: readonly StagedFile[]): Promise<void> {
  // Several files appear one rename at a time: readers see the mark and wait (io/consistent-read.ts).
  const unmark = files.length > 1 ? await markCommitting([...new Set(files.map((f) => dirname(f.path)))]) : undefined;
  try {
    await renameEach(files);
  } finally {
    await unmark?.();
  }
}

async function renameEach(files: readonly StagedFile[]): Promise<void> {
  for (let i = 0; i < files.length; i++) {
    if (i > 0) await commitPause();
    try {
      await rename(files[i]!.temp, files[i]!.path);
    } catch (error) {
      await Promise.all(files.slice(i).map((f) => removeTemp(f.temp)));
      throw asWriteError(error, files[i]!.path);
    }
    forgetTemp(files[i]!.temp);
  }
}

/**
 * Writes every file to a temporary path in its target folder, then renames them into place in the given
 * order (put the file that points at the others last). If any write fails, every temporary is removed and
 * no target is touched. Stale temporaries of killed runs in those folders are removed first. Inside
 * stageOutputs the complete temporaries are staged instead of renamed.
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
  const written = files.map((f, i) => ({ temp: temps[i]!, path: f.path }));
  const staged = staging.getStore();
  if (staged) staged.files.push(...written);
  else await renameIntoPlace(written);
}
