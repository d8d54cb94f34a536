/**
 * Mocha global setup: bundles dist/ (worker, CLI, extension) before any test, so tests that start the worker
 * or the CLI process always run the current sources, also when mocha is run on its own.
 */
import { execFileSync } from "node:child_process";

export function mochaGlobalSetup(): void {
  execFileSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
}
