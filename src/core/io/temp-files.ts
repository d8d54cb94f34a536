/**
 * Our temporary files and folders: each carries the writing process's id in its name, is tracked while it
 * lives (so an interrupted process removes its own before exiting), and is recognised as stale by a later run
 * once that process is gone (a run killed with SIGKILL cannot clean up after itself).
 */
import { readFileSync, rmSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const live = new Set<string>();

export function trackTemp(path: string): void {
  live.add(path);
}

export function forgetTemp(path: string): void {
  live.delete(path);
}

/** Removes every temporary file or folder of this process that still exists; for signal handlers (synchronous). */
export function removeLiveTempsSync(): string[] {
  const removed = [...live];
  for (const path of removed) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch {
      // Best effort while exiting: a file that cannot be removed will be removed by the next run as stale.
    }
  }
  live.clear();
  return removed;
}

/** `.model-soup-tmp-<pid>-<12 hex>-<name>` beside outputs (atomic.ts); `model-soup-<kind>-<pid>-XXXXXX` folders in the system temp folder. */
const TEMP_BESIDE = /^\.model-soup-tmp-(\d+)-[0-9a-f]{12}-/;
const TEMP_FOLDER = /^model-soup-[a-z]+-(\d+)-[A-Za-z0-9]{6}$/;

/** Whether a process is running (a zombie is not; a process of another user is). */
export function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  return !isZombie(pid);
}

/**
 * A killed process whose parent died too stays a zombie until something reaps it (in containers, often never): it
 * answers signal 0 but will never write again. Linux only; elsewhere a process that answers is taken as alive.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) S ...": the state follows the last ")", since comm may itself hold parentheses.
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false;
  }
}

/** When a process started (ms since the epoch), from /proc (Linux); undefined elsewhere or when unknown. */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after "(comm)": state is field 3, starttime (clock ticks after boot) field 22.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[19]);
    const boot = /^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"));
    if (!Number.isFinite(ticks) || !boot) return undefined;
    // USER_HZ is 100 on every Linux build that Node supports.
    return Number(boot[1]) * 1000 + ticks * 10;
  } catch {
    return undefined;
  }
}

/** The process id a temporary name of ours carries, or undefined when the name is not one of ours. */
export function tempOwner(name: string, inSystemTemp = false): number | undefined {
  const match = TEMP_BESIDE.exec(name) ?? (inSystemTemp ? TEMP_FOLDER.exec(name) : null);
  return match ? Number(match[1]) : undefined;
}

/**
 * Removes the temporaries of ours in `folder` whose process has ended (left by a killed run); returns their
 * paths. Temporaries of live processes (a concurrent writer) are left alone.
 */
export async function removeStaleTemps(folder: string): Promise<string[]> {
  const names = await readdir(folder).catch(() => [] as string[]);
  const inSystemTemp = resolve(folder) === resolve(tmpdir());
  const stale = names.filter((n) => {
    const pid = tempOwner(n, inSystemTemp);
    return pid !== undefined && !isProcessAlive(pid);
  });
  const removed: string[] = [];
  for (const name of stale) {
    const path = join(folder, name);
    await rm(path, { recursive: true, force: true }).then(
      () => removed.push(path),
      () => undefined,
    );
  }
  return removed;
}

/** A private folder in the system temp folder (`model-soup-<kind>-<pid>-XXXXXX`), tracked until `remove`. */
export async function makeTempFolder(kind: string): Promise<{ path: string; remove(): Promise<void> }> {
  await removeStaleTemps(tmpdir());
  const path = await mkdtemp(join(tmpdir(), `model-soup-${kind}-${process.pid}-`));
  trackTemp(path);
  return {
    path,
    remove: async () => {
      await rm(path, { recursive: true, force: true });
      forgetTemp(path);
    },
  };
}
