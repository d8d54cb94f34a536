/**
 * Runs the real `model-soup` CLI in a child process: the built bundle dist/cli.cjs when it is newer than every
 * source file (as after `npm test`'s build step), else src/cli/main.ts through tsx, so a stale bundle is never
 * what a test checks.
 */
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const BUNDLE = join("dist", "cli.cjs");

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

let entry: string[] | undefined;

/** The command that starts the CLI, chosen once per test run. */
export function cliCommand(): string[] {
  if (!entry) {
    let bundleTime = -1;
    try {
      bundleTime = statSync(BUNDLE).mtimeMs;
    } catch {
      // No bundle: run the sources.
    }
    entry = bundleTime > newestSource("src") ? [BUNDLE] : ["--import", "tsx", join("src", "cli", "main.ts")];
  }
  return entry;
}

export function runCli(...args: string[]): Promise<CliRun> {
  return runCliWithEnv({}, ...args);
}

/** runCli with these variables added to the environment. */
export function runCliWithEnv(env: Record<string, string>, ...args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cliCommand(), ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
