/** `model-soup inspect <model>... [--json]`: each model's format, parameters and tensors, then the compatibility report. */
import { analyzeModels } from "../../core/architecture/analyze.js";
import { inspectExitCode, inspectJson } from "../../core/architecture/report.js";
import { UsageError } from "../../core/errors.js";
import { escapeControl } from "../../core/io/display.js";
import { describeExpansions, resolveModelArguments } from "../../core/io/model-inputs.js";
import { flag } from "../args.js";
import type { Command } from "../command.js";
import { formatModel, formatReport } from "../text/analysis.js";
import { checkRecipeOutput } from "../../core/recipe/check.js";
import { recipePathFor } from "../../core/io/output-names.js";
import { stat } from "node:fs/promises";

/** For a model with a recipe beside it, whether the recipe describes it (one line), else undefined. */
async function recipeLine(model: string): Promise<string | undefined> {
  const recipe = recipePathFor(model);
  if (
    recipe === model ||
    !(await stat(recipe).then(
      (s) => s.isFile(),
      () => false,
    ))
  )
    return undefined;
  const checked = await checkRecipeOutput(recipe, model).catch((error: Error) => ({ line: error.message }));
  return `  recipe: ${checked.line}`;
}

export const inspectCommand: Command = {
  name: "inspect",
  summary: "Show each model's format, parameter count and tensors, then which models can be merged together.",
  usage: "inspect <model|folder>... [--json]",
  options: {
    json: { type: "boolean", description: "Print one JSON document instead of text." },
  },
  async run(args, io) {
    if (args.positionals.length === 0) throw new UsageError("give at least one model file or folder");
    // Every model found is shown, of any architecture; arguments that cannot be used are reported with the rest.
    const resolved = await resolveModelArguments(args.positionals, { tolerant: true });
    for (const line of describeExpansions(resolved.expansions)) io.stderr(`${escapeControl(line)}\n`);
    const analysis = await analyzeModels(resolved.models);
    analysis.unreadable.push(...resolved.unreadable);
    for (const u of analysis.unreadable) io.stderr(`model-soup inspect: ${escapeControl(u.error)}\n`);
    if (flag(args, "json")) {
      io.stdout(JSON.stringify(inspectJson(analysis), null, 2) + "\n");
    } else {
      const recipes = await Promise.all(analysis.models.map((m) => recipeLine(m.path)));
      const sections = [
        ...analysis.models.map((m, i) => [formatModel(m), ...(recipes[i] ? [recipes[i]] : [])].join("\n")),
        formatReport(analysis),
      ];
      io.stdout(sections.join("\n\n") + "\n");
    }
    return inspectExitCode(analysis);
  },
};
