/** The `model-soup` executable: runs the command line against the real process streams. */
import type { CliIO } from "./command.js";
import { EXIT_INTERNAL, runCli } from "./run.js";

const processIO: CliIO = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  isTTY: process.stdout.isTTY === true,
};

// Setting exitCode (not calling exit) lets piped stdout drain before the process ends.
runCli(process.argv.slice(2), processIO).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`model-soup: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = EXIT_INTERNAL;
  },
);
