/** `model-soup merge`: a merge with given coefficients or method parameters; no data needed. */
import { escapeControl } from "../../core/io/display.js";
import { stringOption, type ParsedArgs } from "../args.js";
import type { Command } from "../command.js";
import { MERGE_METHOD_IDS } from "../../core/merge/spec.js";
import { WorkerRequests } from "../../protocol/worker.js";
import { runOnWorker } from "../worker-session.js";
import { baseArgument, modelArguments, soupOutput } from "../paths.js";
import { numberOption, OUT_DESCRIPTION, weightsOption } from "./options.js";

/** Method parameters given on the command line, by their mergekit names. */
function methodParams(args: ParsedArgs): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const name of ["t", "density", "lambda", "seed"]) {
    const value = numberOption(args, name);
    if (value !== undefined) params[name] = value;
  }
  if (args.values["no-normalize"] === true) params.normalize = false;
  return params;
}

export const mergeCommand: Command = {
  name: "merge",
  summary: "Merge with given weights (uniform by default) or a task-vector method; writes the model and its recipe.",
  usage: `merge <model|folder>... [--weights w1,w2,...] [--method ${MERGE_METHOD_IDS.join("|")}] [--base <path>] --out <path>`,
  options: {
    weights: { type: "string", valueName: "w1,w2,...", description: "One weight per model (default: uniform)." },
    method: { type: "string", valueName: "<method>", description: `Merge method: ${MERGE_METHOD_IDS.join(", ")} (default linear).` },
    base: { type: "string", valueName: "<path>", description: "The base model the others were fine-tuned from (task-vector methods)." },
    t: { type: "string", valueName: "<t>", description: "SLERP interpolation factor." },
    density: { type: "string", valueName: "<d>", description: "TIES/DARE: fraction of each task vector kept." },
    lambda: { type: "string", valueName: "<λ>", description: "Task arithmetic/TIES/DARE: scale of the summed task vectors." },
    seed: { type: "string", valueName: "<N>", description: "DARE: seed of the random drops." },
    "no-normalize": { type: "boolean", description: "Linear: do not divide by the sum of the weights." },
    out: { type: "string", valueName: "<path>", description: OUT_DESCRIPTION },
    json: { type: "boolean", description: "Print the result as JSON." },
  },
  async run(args, io) {
    const models = await modelArguments(args, io, 1);
    const base = await baseArgument(args);
    const output = await soupOutput(args, models, { base });
    const result = await runOnWorker(io, WorkerRequests.merge, {
      models,
      method: stringOption(args, "method") ?? "linear",
      coefficients: weightsOption(args, models.length),
      base,
      params: methodParams(args),
      out: output!.model,
    });
    for (const w of result.warnings) io.stderr(`warning: ${escapeControl(w)}\n`);
    io.stdout(args.values.json ? `${JSON.stringify(result, null, 2)}\n` : `Wrote ${escapeControl(result.model)}\nRecipe ${escapeControl(result.recipe)}\n`);
    return 0;
  },
};
