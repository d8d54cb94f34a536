import type { Command } from "../command.js";
import { alignCommand } from "./align.js";
import { applyCommand } from "./apply.js";
import { demoCommand } from "./demo.js";
import { diffCommand } from "./diff.js";
import { evaluateCommand } from "./evaluate.js";
import { greedyCommand } from "./greedy.js";
import { inspectCommand } from "./inspect.js";
import { learnCommand } from "./learn.js";
import { mergeCommand } from "./merge.js";
import { mergekitExportCommand } from "./mergekit-export.js";
import { mergekitImportCommand } from "./mergekit-import.js";

/** Every `model-soup` subcommand, in the order `--help` lists them. Adding a command is one line here. */
export const COMMANDS: readonly Command[] = [
  inspectCommand,
  learnCommand,
  mergeCommand,
  greedyCommand,
  alignCommand,
  evaluateCommand,
  diffCommand,
  applyCommand,
  mergekitExportCommand,
  mergekitImportCommand,
  demoCommand,
];
