/** The `model-soup` executable: runs the command line against the real process streams. */
import { escapeControl, escapeTerminal } from "../core/io/display.js";
import { removeLiveTempsSync } from "../core/io/temp-files.js";
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

// A failure outside any command's promise (an event handler) is still one line; --debug shows the stack.
const debug = process.argv.includes("--debug") || process.env.MODEL_SOUP_DEBUG === "1";
if (debug) process.env.MODEL_SOUP_DEBUG = "1"; // the worker (a child process) inherits it
for (const event of ["uncaughtException", "unhandledRejection"] as const) {
  process.on(event, (error: unknown) => {
    const message = String((error as Error)?.message ?? error).split("\n")[0];
    processIO.stderr(
      `model-soup: internal error: ${escapeControl(message)}${debug ? `\n${(error as Error)?.stack ?? ""}` : ""}\n`,
    );
    removeLiveTempsSync();
    process.exit(EXIT_INTERNAL);
  });
}

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
