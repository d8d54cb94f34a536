/**
 * The advisory lock every soup writer holds on its output folder while it writes and moves files into place, so two
 * writers to one output (a command re-run in a second terminal, the panel and the CLI) never mix their files: the
 * second waits a bounded time, then refuses in one line naming the holder. The lock is a file `.model-soup.lock` in
 * the output folder, created with O_EXCL, holding the writer's pid, its start time and a nonce. A lock whose process
 * has ended (killed with SIGKILL) is stale and taken over. Own module rather than proper-lockfile: that library
 * judges staleness by a refreshed mtime (a timer in every writer), where a pid says it directly.
 */
import { randomBytes } from "node:crypto";
import { link, mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { ModelFileError } from "../errors.js";
import { forgetTemp, isProcessAlive, processStartTime, trackTemp } from "./temp-files.js";

export const LOCK_NAME = ".model-soup.lock";

/** How long a second writer waits for the lock before refusing (MODEL_SOUP_LOCK_WAIT_MS overrides it). */
export const DEFAULT_LOCK_WAIT_MS = 5000;
const POLL_MS = 50;

interface LockRecord {
  pid: number;
  /** When the holding process started (ISO time), so a reused pid is not mistaken for the holder. */
  started: string;
  nonce: string;
}

export interface OutputLock {
  path: string;
  /** Throws when the lock is no longer this writer's (another process removed it); call before moving files in. */
  verify(): Promise<void>;
  release(): Promise<void>;
}

// Measured as a waiter measures a holder's (processStartTime, from /proc), so the two agree however loaded the
// machine is; process.uptime() where /proc is missing.
const processStarted = new Date(processStartTime(process.pid) ?? Date.now() - process.uptime() * 1000).toISOString();

function parseRecord(text: string): LockRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<LockRecord>;
    return typeof r.pid === "number" && typeof r.started === "string" && typeof r.nonce === "string"
      ? (r as LockRecord)
      : undefined;
  } catch {
    return undefined;
  }
}

async function readRecord(path: string): Promise<LockRecord | undefined | "missing"> {
  const text = await readFile(path, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return "missing" as const;
    throw e;
  });
  return text === "missing" ? text : parseRecord(text);
}

/**
 * Takes a stale lock away: it is moved aside first, and moved back when what was moved is not the stale lock that
 * was read (another waiter took the stale one over in between), so a live holder's lock is never deleted.
 */
async function removeStale(path: string, stale: LockRecord | undefined, staleText: string): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await rename(path, aside);
  } catch {
    return; // gone already: someone else took it over
  }
  const moved = await readFile(aside, "utf8").catch(() => "");
  const same = stale ? parseRecord(moved)?.nonce === stale.nonce : moved === staleText;
  if (!same) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

/** Lock files that cannot be read as a record are stale once they are older than this (a writer killed mid-write). */
const UNREADABLE_STALE_MS = 2000;

/** Start times measured from /proc and from process.uptime() differ by rounding; a reused pid differs by far more. */
const PID_REUSE_TOLERANCE_MS = 5000;

function isStale(record: LockRecord | undefined, written: number): boolean {
  if (record === undefined) return Date.now() - written > UNREADABLE_STALE_MS;
  if (record.pid === process.pid) return false;
  if (!isProcessAlive(record.pid)) return true;
  // A live process with the holder's pid that started at another time is a new process that reused the pid.
  const started = processStartTime(record.pid);
  const recorded = Date.parse(record.started);
  return started !== undefined && Number.isFinite(recorded) && Math.abs(started - recorded) > PID_REUSE_TOLERANCE_MS;
}

/**
 * Creates the lock file exclusively with its content already in it, so no other writer ever reads it empty: the
 * record is written to a private file (O_EXCL) and hard-linked to the lock's name, which fails with EEXIST when the
 * lock exists. Where hard links are not supported, the lock is opened with O_EXCL and written (a reader that finds it
 * empty waits: see UNREADABLE_STALE_MS).
 */
async function createWithContent(path: string, text: string, nonce: string): Promise<void> {
  const own = `${path}.${process.pid}-${nonce}`;
  const write = async (target: string) => {
    const handle = await open(target, "wx");
    try {
      await handle.writeFile(text, "utf8");
    } finally {
      await handle.close();
    }
  };
  trackTemp(own);
  try {
    await write(own);
    await link(own, path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP") throw error;
    await write(path);
  } finally {
    await unlink(own).catch(() => undefined);
    forgetTemp(own);
  }
}

/** Takes the lock on `folder` (which must exist), waiting up to `waitMs` for a live holder; refuses after that. */
export async function lockOutputFolder(
  folder: string,
  waitMs = Number(process.env.MODEL_SOUP_LOCK_WAIT_MS ?? DEFAULT_LOCK_WAIT_MS),
): Promise<OutputLock> {
  const path = join(folder, LOCK_NAME);
  const record: LockRecord = { pid: process.pid, started: processStarted, nonce: randomBytes(8).toString("hex") };
  const text = `${JSON.stringify(record)}\n`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await createWithContent(path, text, record.nonce);
      trackTemp(path);
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // The folder was removed by a writer that failed after making it: made again.
      if (code === "ENOENT") {
        await mkdir(folder, { recursive: true });
        continue;
      }
      if (code !== "EEXIST") throw error;
    }
    const staleText = await readFile(path, "utf8").catch(() => undefined);
    if (staleText === undefined) continue; // released in between: try again at once
    const holder = parseRecord(staleText);
    const written = holder
      ? 0
      : await stat(path).then(
          (s) => s.mtimeMs,
          () => Date.now(),
        );
    if (isStale(holder, written)) {
      await removeStale(path, holder, staleText);
      continue;
    }
    if (Date.now() >= deadline) {
      const who = holder
        ? `process ${holder.pid} (started ${holder.started})`
        : "another process (its lock file is being written)";
      throw new ModelFileError(
        folder,
        `refused: ${who} is writing a model into this folder (lock ${path}); wait for it to finish or choose another output`,
      );
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const ours = async () => {
    const now = await readRecord(path).catch(() => undefined);
    return typeof now === "object" && now.nonce === record.nonce;
  };
  return {
    path,
    async verify() {
      if (!(await ours()))
        throw new ModelFileError(folder, `lost its lock ${path} to another process; nothing was written`);
    },
    async release() {
      if (await ours()) await unlink(path).catch(() => undefined);
      forgetTemp(path);
    },
  };
}
