/** `model-soup merge`: a merge with given coefficients or method parameters; no data needed. */
import { stringOption, type ParsedArgs } from "../args.js";
import type { Command } from "../command.js";
import { UsageError } from "../../core/errors.js";
import { MERGE_METHOD_IDS } from "../../core/merge/spec.js";
import { WorkerRequests } from "../../protocol/worker.js";
import { runOnWorker } from "../worker-session.js";
import { backendOption, dataOptions, numberOption, printReport, weightsOption } from "./options.js";
import { alignOption, alignOptions } from "./align-options.js";
import { dataIfGiven, formatAlignResult } from "./align.js";

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
  usage: `merge <model>... [--weights w1,w2,...] [--method ${MERGE_METHOD_IDS.join("|")}] [--base <path>] [--align weight|activation [--data <file>] [--reference <model>]] --out <path>`,
  options: {
    weights: { type: "string", valueName: "w1,w2,...", description: "One weight per model (default: uniform)." },
    method: { type: "string", valueName: "<method>", description: `Merge method: ${MERGE_METHOD_IDS.join(", ")} (default linear).` },
    base: { type: "string", valueName: "<path>", description: "The base model the others were fine-tuned from (task-vector methods)." },
    t: { type: "string", valueName: "<t>", description: "SLERP interpolation factor." },
    density: { type: "string", valueName: "<d>", description: "TIES/DARE: fraction of each task vector kept." },
    lambda: { type: "string", valueName: "<λ>", description: "Task arithmetic/TIES/DARE: scale of the summed task vectors." },
    seed: { type: "string", valueName: "<N>", description: "DARE: seed of the random drops." },
    "no-normalize": { type: "boolean", description: "Linear: do not divide by the sum of the weights." },
    out: { type: "string", valueName: "<path>", description: "Where to write the merged model and its recipe." },
    ...alignOptions,
    data: { ...dataOptions.data!, description: "With --align: data whose activations are matched (activation) and, with labels, that picks the reference; split with --seed (default 0)." },
    label: dataOptions.label!,
    scale: dataOptions.scale!,
    backend: dataOptions.backend!,
    json: { type: "boolean", description: "Print the result as JSON." },
  },
  async run(args, io) {
    const out = stringOption(args, "out");
    if (out === undefined) throw new UsageError("--out <path> is required");
    if (args.positionals.length < 1) throw new UsageError("give the model files to merge");
    const align = alignOption(args);
    if (align !== undefined) {
      const method = stringOption(args, "method") ?? "linear";
      if (method !== "linear" && method !== "uniform") throw new UsageError(`--align merges with uniform or given weights (method linear), not ${method}`);
      for (const name of ["t", "density", "lambda", "no-normalize"]) {
        if (args.values[name] !== undefined) throw new UsageError(`--${name} does not apply with --align (a weighted average of the aligned models, weights normalised)`);
      }
      const coefficients = weightsOption(args, args.positionals.length);
      const data = dataIfGiven(args);
      const result = await runOnWorker(io, WorkerRequests.align, {
        models: args.positionals,
        align,
        ...(data ? { data } : {}),
        out,
        merge: coefficients !== undefined ? { coefficients } : {},
        backend: backendOption(args),
      });
      await printReport(args, io, result, formatAlignResult(result));
      return 0;
    }
    const result = await runOnWorker(io, WorkerRequests.merge, {
      models: args.positionals,
      method: stringOption(args, "method") ?? "linear",
      coefficients: weightsOption(args, args.positionals.length),
      base: stringOption(args, "base"),
      params: methodParams(args),
      out,
    });
    for (const w of result.warnings) io.stderr(`warning: ${w}\n`);
    io.stdout(args.values.json ? `${JSON.stringify(result, null, 2)}\n` : `Wrote ${result.model}\nRecipe ${result.recipe}\n`);
    return 0;
  },
};
