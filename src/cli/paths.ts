/**
 * The command line's paths, resolved and checked before any work: model arguments (files, model folders,
 * folders of models: core/io/model-inputs.ts, printed when a folder stood for several models), the soup output
 * (core/soup/output.ts) and --report (core/io/output-guard.ts).
 */
import { stat, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { UsageError } from "../core/errors.js";
import { escapeControl } from "../core/io/display.js";
import { writeFilesAtomically } from "../core/io/atomic.js";
import {
  describeExpansions,
  resolveModelArguments,
  resolveModelPath,
  type ResolveOptions,
} from "../core/io/model-inputs.js";
import { guardOutputs, type ProtectedPath } from "../core/io/output-guard.js";
import { filesOfModels } from "../core/formats/registry.js";
import type { OutputTarget } from "../core/io/output-target.js";
import { planSoupOutput } from "../core/soup/output.js";
import { stringOption, type ParsedArgs } from "./args.js";
import type { CliIO } from "./command.js";

/** The models the positional arguments name (folders resolved), after printing what each expanding folder held. */
export async function modelArguments(
  args: ParsedArgs,
  io: CliIO,
  atLeast: number,
  options: ResolveOptions = { oneArchitecture: true },
): Promise<string[]> {
  if (args.positionals.length === 0)
    throw new UsageError(`give at least ${atLeast} model${atLeast === 1 ? "" : "s"} (files or folders)`);
  const resolved = await resolveModelArguments(args.positionals, options);
  for (const line of describeExpansions(resolved.expansions)) io.stderr(`${escapeControl(line)}\n`);
  if (resolved.models.length < atLeast) {
    throw new UsageError(
      `give at least ${atLeast} models (files or folders); got ${resolved.models.length}: ${resolved.models.join(", ")}`,
    );
  }
  return resolved.models;
}

/** --base, resolved like a model argument (a model folder is its model). */
export async function baseArgument(args: ParsedArgs): Promise<string | undefined> {
  const base = stringOption(args, "base");
  return base === undefined ? undefined : resolveModelPath(base);
}

/** A soup command's --out, resolved and guarded against the inputs and `protect` (required unless `optional`). */
export async function soupOutput(
  args: ParsedArgs,
  models: readonly string[],
  options: { base?: string; protect?: ProtectedPath[]; optional?: boolean } = {},
): Promise<OutputTarget | undefined> {
  const out = stringOption(args, "out");
  if (out === undefined) {
    if (options.optional) return undefined;
    throw new UsageError("--out <path> is required");
  }
  return planSoupOutput({ out, models, base: options.base, protect: options.protect });
}

/** The protected paths of a command's inputs: every model's files, and the data when there is one. */
export async function inputProtection(
  models: readonly string[],
  data?: string,
  base?: string,
): Promise<ProtectedPath[]> {
  return [
    ...(await filesOfModels(models)),
    ...(base !== undefined ? await filesOfModels([base], "base model") : []),
    ...(data !== undefined ? [{ path: data, role: `the data ${data}` }] : []),
  ];
}

/** Checks --report (when given) against the inputs and the output the command will write. */
export async function guardReport(
  args: ParsedArgs,
  protectedPaths: readonly ProtectedPath[],
  output?: OutputTarget,
): Promise<void> {
  const report = stringOption(args, "report");
  if (report === undefined) return;
  const outputs: ProtectedPath[] = output
    ? [
        {
          path: output.model,
          role: `the merged model ${output.model}`,
          ...(output.siblings ? { siblings: output.siblings } : {}),
        },
        { path: output.recipe, role: `the recipe ${output.recipe}` },
      ]
    : [];
  await guardOutputs([{ path: report, what: "the report" }], [...protectedPaths, ...outputs]);
  // The report is written after the work: its folder must be there by then (the output's own folder will be).
  const folder = dirname(resolve(report));
  const exists = await stat(folder).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!exists && folder !== output?.folder)
    throw new UsageError(`--report ${report}: the folder ${folder} does not exist`);
}

/** Writes a text file the command produces (a report, a YAML config) atomically: all of it or nothing. */
export async function writeTextOutput(path: string, text: string): Promise<void> {
  await writeFilesAtomically([{ path, write: (temp) => writeFile(temp, text, { flag: "wx" }) }]);
}
