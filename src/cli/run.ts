/** Dispatches a `model-soup` command line to the subcommand modules registered in commands/index.ts. */
import { optionHelp, parseCommandArgs } from "./args.js";
import type { CliIO, Command } from "./command.js";
import { COMMANDS } from "./commands/index.js";
import { interruption } from "./interrupt.js";
import { CancelledError, EngineError, ModelFileError, UsageError } from "../core/errors.js";
import { escapeControl } from "../core/io/display.js";

/** Exit codes shared by every command: 0 done, 1 the answer is "no" (e.g. not mergeable), 2 bad input or usage. */
export const EXIT_BAD_INPUT = 2;
export const EXIT_INTERNAL = 3;
/** Cancelled by the user (Ctrl-C): 128 + SIGINT, as shells report it. */
export const EXIT_CANCELLED = 130;

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "Usage: model-soup <command> [options]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Run `model-soup <command> --help` for a command's options. Add --debug to any command to see an error's stack.",
  ].join("\n");
}

/** How model arguments are read (core/io/model-inputs.ts), for the help of the commands that take models. */
const MODELS_HELP = [
  "Models: a model file (TF.js model.json, .keras, .h5, .safetensors, NAME.safetensors.index.json, a PyTorch",
  ".pt/.pth/.ckpt/pytorch_model.bin zip checkpoint), or a model folder (one of those in it: model.json with its",
  "shards, one .keras/.h5/.safetensors/.pt, or a shard index), or a folder of",
  "models, which stands for the models under it (printed); commands that merge take its one architecture with two or",
  "more models, saying what they left out. A failure is one line on stderr (a usage mistake points to --help),",
  "exit 2 for bad input or usage; add --debug to see the stack.",
].join("\n");

export function commandHelp(command: Command): string {
  const options = optionHelp({
    ...command.options,
    help: { type: "boolean", short: "h", description: "Show this help." },
  });
  const models = command.usage.includes("<model|folder>") ? ["", MODELS_HELP] : [];
  return [`Usage: model-soup ${command.usage}`, "", command.summary, "", "Options:", options, ...models].join("\n");
}

/** `--debug` anywhere on the command line (or MODEL_SOUP_DEBUG=1) adds the stack to an error message. */
function takeDebugFlag(argv: readonly string[]): { argv: string[]; debug: boolean } {
  const rest = argv.filter((a) => a !== "--debug");
  return { argv: rest, debug: rest.length !== argv.length || process.env.MODEL_SOUP_DEBUG === "1" };
}

const WRITE_SYSCALLS = new Set(["write", "rename", "mkdir", "unlink", "copyfile", "rm", "rmdir", "ftruncate", "fsync"]);

/** A system error about a path (missing file, a folder given as a file, ...) that reached the top unwrapped. */
function systemErrorLine(error: unknown): string | undefined {
  const e = error as NodeJS.ErrnoException;
  if (typeof e?.code !== "string" || !/^E[A-Z]+$/.test(e.code)) return undefined;
  const what = WRITE_SYSCALLS.has(e.syscall ?? "") ? "cannot be written" : "cannot be used";
  return e.path ? `${e.path}: ${what} (${e.code})` : `${e.code}: ${e.message}`;
}

/**
 * What the user sees of a failure: always one line (control characters escaped) and an exit code; the stack only
 * with --debug.
 */
export function describeFailure(command: Command, error: unknown, debug: boolean): { text: string; code: number } {
  const stack = debug && error instanceof Error && error.stack ? `\n${error.stack}` : "";
  const line = (message: string) => `model-soup ${command.name}: ${escapeControl(message)}`;
  if (error instanceof EngineError) return { text: line(error.message) + stack, code: EXIT_BAD_INPUT };
  if (error instanceof UsageError) {
    return {
      text: `${line(`${error.message} (model-soup ${command.name} --help shows the usage)`)}${stack}`,
      code: EXIT_BAD_INPUT,
    };
  }
  if (error instanceof ModelFileError) return { text: line(error.message) + stack, code: EXIT_BAD_INPUT };
  if (error instanceof CancelledError)
    return { text: line("cancelled; nothing was written") + stack, code: EXIT_CANCELLED };
  const system = systemErrorLine(error);
  if (system !== undefined) return { text: line(system) + stack, code: EXIT_BAD_INPUT };
  const message = (error as Error)?.message ?? String(error);
  const hint = debug ? "" : " (run again with --debug to see where)";
  return { text: `${line(`internal error: ${message.split("\n")[0]}`)}${hint}${stack}`, code: EXIT_INTERNAL };
}

/** Runs one command line (without the node and script arguments) and resolves to the exit code. */
export async function runCli(fullArgv: readonly string[], io: CliIO): Promise<number> {
  const { argv, debug } = takeDebugFlag(fullArgv);
  const [name, ...rest] = argv;
  if (name === undefined) {
    // No command at all is a usage mistake: the overview goes where errors go.
    io.stderr(`model-soup: no command given\n\n${overview()}\n`);
    return EXIT_BAD_INPUT;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    io.stdout(overview() + "\n");
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr(`model-soup: unknown command "${escapeControl(name)}"\n\n${overview()}\n`);
    return EXIT_BAD_INPUT;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout(commandHelp(command) + "\n");
    return 0;
  }
  try {
    return await command.run(parseCommandArgs(command.options, rest), io);
  } catch (error) {
    // An interrupted run has said so in one line already; what the stopped work threw is not news.
    const interrupted = interruption();
    if (interrupted) return interrupted.code;
    const failure = describeFailure(command, error, debug);
    io.stderr(`${failure.text}\n`);
    return failure.code;
  }
}
