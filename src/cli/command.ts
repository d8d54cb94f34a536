import type { OptionSpec, ParsedArgs } from "./args.js";

/** Where a command writes; the real process streams in main.ts, so commands never touch `process` directly. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** True when stdout is a terminal (progress bars, widths). */
  isTTY: boolean;
}

/** One `model-soup` subcommand. Register it with one line in commands/index.ts. */
export interface Command {
  name: string;
  /** One line, shown in `model-soup --help`. */
  summary: string;
  /** The synopsis after "model-soup ", e.g. "inspect <model>... [--json]". */
  usage: string;
  options: Record<string, OptionSpec>;
  /** Resolves to the process exit code. Throw UsageError for a bad command line. */
  run(args: ParsedArgs, io: CliIO): Promise<number>;
}
