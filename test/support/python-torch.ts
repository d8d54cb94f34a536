/**
 * The Python interpreter with torch that a test may run, found as a user's machine would: `python3`, then
 * `python` on PATH, then /usr/bin/python3, taking the first where `import torch` works. None: a clear failure
 * (CI installs python3-torch), never a silent skip.
 */
import { execFileSync, spawnSync } from "node:child_process";

let found: string | undefined;

function hasTorch(python: string): boolean {
  return spawnSync(python, ["-c", "import torch"], { stdio: "ignore", timeout: 60_000 }).status === 0;
}

export function pythonWithTorch(): string {
  if (found) return found;
  const tried = ["python3", "python", "/usr/bin/python3"];
  for (const python of tried) {
    if (hasTorch(python)) return (found = python);
  }
  throw new Error(
    `no Python with torch: tried ${tried.join(", ")}; install PyTorch (Debian: apt install python3-torch)`,
  );
}

/** Runs a Python script with torch and returns its standard output. */
export function runPython(script: string, args: string[] = []): string {
  return execFileSync(pythonWithTorch(), ["-c", script, ...args], { encoding: "utf8", timeout: 120_000 });
}
