/** `model-soup apply`: recreate a recipe's merged model from its inputs; refuses when an input changed. */
import { flag, stringOption } from "../args.js";
import type { Command } from "../command.js";
import { UsageError } from "../../core/errors.js";
import { WorkerRequests } from "../../protocol/worker.js";
import { runOnWorker } from "../worker-session.js";

export const applyCommand: Command = {
  name: "apply",
  summary: "Recreate a merged model from its recipe (no data needed); refuses when an input's hash differs.",
  usage: "apply <recipe> [--out <path>] [--json]",
  options: {
    out: { type: "string", valueName: "<path>", description: "Where to write (default: the recipe's output path)." },
    json: { type: "boolean", description: "Print the result as JSON." },
  },
  async run(args, io) {
    if (args.positionals.length !== 1) throw new UsageError("give one recipe file");
    const result = await runOnWorker(io, WorkerRequests.apply, { recipe: args.positionals[0]!, out: stringOption(args, "out") });
    for (const w of result.warnings) io.stderr(`warning: ${w}\n`);
    io.stdout(flag(args, "json") ? `${JSON.stringify(result, null, 2)}\n` : `Wrote ${result.model}\nRecipe ${result.recipe}\n`);
    return 0;
  },
};
