/** Dispatches a `model-soup` command line to the subcommand modules registered in commands/index.ts. */
import { optionHelp, parseCommandArgs } from "./args.js";
import type { CliIO, Command } from "./command.js";
import { COMMANDS } from "./commands/index.js";
import { ModelFileError, UsageError } from "../core/errors.js";

/** Exit codes shared by every command: 0 done, 1 the answer is "no" (e.g. not mergeable), 2 bad input or usage. */
export const EXIT_BAD_INPUT = 2;
export const EXIT_INTERNAL = 3;

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "Usage: model-soup <command> [options]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Run `model-soup <command> --help` for a command's options.",
  ].join("\n");
}

export function commandHelp(command: Command): string {
  const options = optionHelp({ ...command.options, help: { type: "boolean", short: "h", description: "Show this help." } });
  return [`Usage: model-soup ${command.usage}`, "", command.summary, "", "Options:", options].join("\n");
}

/** Runs one command line (without the node and script arguments) and resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout(overview() + "\n");
    return name === undefined ? EXIT_BAD_INPUT : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr(`model-soup: unknown command "${name}"\n\n${overview()}\n`);
    return EXIT_BAD_INPUT;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout(commandHelp(command) + "\n");
    return 0;
  }
  try {
    return await command.run(parseCommandArgs(command.options, rest), io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`model-soup ${command.name}: ${error.message}\n\n${commandHelp(command)}\n`);
      return EXIT_BAD_INPUT;
    }
    if (error instanceof ModelFileError) {
      io.stderr(`model-soup ${command.name}: ${error.message}\n`);
      return EXIT_BAD_INPUT;
    }
    io.stderr(`model-soup ${command.name}: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
    return EXIT_INTERNAL;
  }
}

