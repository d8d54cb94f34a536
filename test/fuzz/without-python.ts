/**
 * A machine with no Python at all, for the "no Python anywhere" case: the CLI runs in a private mount namespace
 * (`unshare -m`) in which every folder the Python search looks in (find-python.ts' system folders) is covered by an
 * empty tmpfs, and PATH names one empty folder. Node runs from a copy, since /usr/bin is among the covered folders.
 * The mounts are private to the namespace: the machine's own folders are never touched. Needs root or user
 * namespaces (CI runs as root); undefined where `unshare -m` is refused, and the case is left out.
 */
import { copyFileSync, existsSync, mkdirSync, realpathSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { SYSTEM_PYTHON_FOLDERS } from "../../src/core/python/find-python.js";

export interface NoPythonRun {
  /** The command and arguments that run `node <args…>` with no Python reachable. */
  wrap(nodeArguments: string[]): [string, string[]];
  /** PATH inside: one empty folder. */
  readonly path: string;
}

function which(name: string): string | undefined {
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  return found.status === 0 ? realpathSync(found.stdout.trim()) : undefined;
}

/** Whether this machine lets the harness make a mount namespace (root, or user namespaces allowed). */
export function canRunWithoutPython(): boolean {
  const unshare = which("unshare");
  return unshare !== undefined && which("mount") !== undefined && spawnSync(unshare, ["-m", "true"]).status === 0;
}

export function noPythonRun(root: string): NoPythonRun | undefined {
  const unshare = which("unshare");
  const mount = which("mount");
  if (!unshare || !mount || !canRunWithoutPython()) return undefined;
  const folders = [...new Set(SYSTEM_PYTHON_FOLDERS.filter((f) => existsSync(f)).map((f) => realpathSync(f)))];
  // The folder that holds `mount` is covered last, so that every mount before it can still run.
  folders.sort((a, b) => Number(a === dirname(mount)) - Number(b === dirname(mount)));
  const node = join(root, "node-without-python", "node");
  const emptyPath = join(root, "node-without-python", "empty-path");
  mkdirSync(emptyPath, { recursive: true });
  if (!existsSync(node)) copyFileSync(process.execPath, node);
  const script = [
    ...folders.map((f) => `${mount} -t tmpfs -o size=1m,mode=755 model-soup-no-python '${f}'`),
    `exec '${node}' "$@"`,
  ].join(" && ");
  return {
    wrap: (nodeArguments) => [unshare, ["-m", "/bin/sh", "-c", script, "sh", ...nodeArguments]],
    path: emptyPath,
  };
}
