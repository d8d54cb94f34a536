/** `model-soup apply`: recreate a recipe's merged model from its inputs; refuses when an input changed. */
import { escapeControl } from "../../core/io/display.js";
import { flag, stringOption } from "../args.js";
import type { Command } from "../command.js";
import { UsageError } from "../../core/errors.js";
import { WorkerRequests } from "../../protocol/worker.js";
import { runOnWorker } from "../worker-session.js";
import { OUT_DESCRIPTION } from "./options.js";
import { checkRecipeOutput } from "../../core/recipe/check.js";

export const applyCommand: Command = {
  name: "apply",
  summary: "Recreate a merged model from its recipe (no data needed); refuses when an input's hash differs.",
  usage: "apply <recipe> [--out <path>] [--check] [--json]",
  options: {
    out: {
      type: "string",
      valueName: "<path>",
      description: `${OUT_DESCRIPTION} Default: the recipe's output path, which must be inside the recipe's folder.`,
    },
    check: {
      type: "boolean",
      description:
        "Write nothing: check that the recipe's model (or the model at --out) is the one it describes, by the SHA-256 of every file; one line, exit 0 on match, 1 otherwise.",
    },
    json: { type: "boolean", description: "Print the result as JSON." },
  },
  async run(args, io) {
    if (args.positionals.length !== 1) throw new UsageError("give one recipe file");
    if (flag(args, "check")) {
      const checked = await checkRecipeOutput(args.positionals[0]!, stringOption(args, "out"));
      io.stdout(flag(args, "json") ? `${JSON.stringify(checked, null, 2)}\n` : `${escapeControl(checked.line)}\n`);
      return checked.verdict === "match" ? 0 : 1;
    }
    const result = await runOnWorker(io, WorkerRequests.apply, {
      recipe: args.positionals[0]!,
      out: stringOption(args, "out"),
    });
    for (const w of result.warnings) io.stderr(`warning: ${escapeControl(w)}\n`);
    io.stdout(
      flag(args, "json")
        ? `${JSON.stringify(result, null, 2)}\n`
        : `Wrote ${escapeControl(result.model)}\nRecipe ${escapeControl(result.recipe)}\n`,
    );
    return 0;
  },
};
