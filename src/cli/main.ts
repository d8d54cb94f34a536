/** The `model-soup` executable: runs the command line against the real process streams. */
import { escapeTerminal } from "../core/io/display.js";
import type { CliIO } from "./command.js";
import { installInterruptHandlers } from "./interrupt.js";
import { EXIT_INTERNAL, runCli } from "./run.js";

// Names and tensor names come from files: nothing printed may carry terminal control sequences.
const processIO: CliIO = {
  stdout: (text) => void process.stdout.write(escapeTerminal(text)),
  stderr: (text) => void process.stderr.write(escapeTerminal(text)),
  isTTY: process.stdout.isTTY === true,
};

installInterruptHandlers(processIO.stderr);

// Setting exitCode (not calling exit) lets piped stdout drain before the process ends.
runCli(process.argv.slice(2), processIO).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // runCli answers every failure itself; this is the last resort, still one line.
    process.stderr.write(`model-soup: internal error: ${String((error as Error)?.message ?? error).split("\n")[0]}\n`);
    process.exitCode = EXIT_INTERNAL;
  },
);
