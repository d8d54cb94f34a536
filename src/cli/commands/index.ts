import type { Command } from "../command.js";
import { inspectCommand } from "./inspect.js";

/** Every `model-soup` subcommand, in the order `--help` lists them. Adding a command is one line here. */
export const COMMANDS: readonly Command[] = [
  inspectCommand,
];
