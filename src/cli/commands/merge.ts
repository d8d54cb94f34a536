/**
 * `model-soup merge`: a merge with given coefficients or method parameters; no data needed, except for the
 * data-aware methods (RegMean, Fisher), which also print the held-out comparison.
 */
import { stringOption, type ParsedArgs } from "../args.js";
import type { Command } from "../command.js";
import { UsageError } from "../../core/errors.js";
import { MERGE_METHOD_IDS } from "../../core/merge/spec.js";
import { isDataAwareMethod, WorkerRequests, type DataAwareMethod } from "../../protocol/worker.js";
import { formatComparison } from "../text/report.js";
import { runOnWorker } from "../worker-session.js";
import { dataAwareOptions, FISHER_TARGETS } from "./data-aware-options.js";
import { backendOption, choiceOption, dataOptions, dataSpec, numberOption, printReport, weightsOption } from "./options.js";


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
  summary: "Merge with given weights (uniform by default), a task-vector method, or RegMean/Fisher on data; writes the model and its recipe.",
  usage:
    `merge <model>... [--weights w1,w2,...] [--method ${MERGE_METHOD_IDS.join("|")}] [--base <path>] --out <path>\n` +
    "       merge <model>... --method regmean|fisher --data <file> [--label <column|key|none>] [--alpha A] [--epsilon E] [--examples N] [--fisher-target labels|prediction] [--out <path>]",
  options: {
    weights: { type: "string", valueName: "w1,w2,...", description: "One weight per model (default: uniform)." },
    method: { type: "string", valueName: "<method>", description: `Merge method: ${MERGE_METHOD_IDS.join(", ")} (default linear).` },
    base: { type: "string", valueName: "<path>", description: "The base model the others were fine-tuned from (task-vector methods)." },
    t: { type: "string", valueName: "<t>", description: "SLERP interpolation factor." },
    density: { type: "string", valueName: "<d>", description: "TIES/DARE: fraction of each task vector kept." },
    lambda: { type: "string", valueName: "<λ>", description: "Task arithmetic/TIES/DARE: scale of the summed task vectors." },
    seed: { type: "string", valueName: "<N>", description: "DARE: seed of the random drops; RegMean/Fisher: seed of the learn/validation/test split (default 0)." },
    data: dataOptions.data!,
    label: dataOptions.label!,
    scale: dataOptions.scale!,
    backend: dataOptions.backend!,
    ...dataAwareOptions,
    report: { type: "string", valueName: "<file.json>", description: "RegMean/Fisher: write the JSON report to a file." },
    "no-normalize": { type: "boolean", description: "Linear: do not divide by the sum of the weights." },
    out: { type: "string", valueName: "<path>", description: "Where to write the merged model and its recipe." },
    json: { type: "boolean", description: "Print the result as JSON." },
  },
  async run(args, io) {
    const method = stringOption(args, "method");
    if (method !== undefined && isDataAwareMethod(method)) return runDataAware(method, args, io);
    if (stringOption(args, "data") !== undefined) throw new UsageError(`--data is read by the data-aware methods (regmean, fisher), not by ${method ?? "linear"}`);
    const out = stringOption(args, "out");
    if (out === undefined) throw new UsageError("--out <path> is required");
    if (args.positionals.length < 1) throw new UsageError("give the model files to merge");
    const result = await runOnWorker(io, WorkerRequests.merge, {
      models: args.positionals,
      method: method ?? "linear",
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

/** RegMean / Fisher: statistics on the learn split, the merge judged on the test split, written when --out is given. */
async function runDataAware(method: DataAwareMethod, args: ParsedArgs, io: Parameters<Command["run"]>[1]): Promise<number> {
  if (args.positionals.length < 2) throw new UsageError(`${method} merges at least two models`);
  for (const name of ["weights", "base", "t", "density", "lambda"]) {
    if (args.values[name] !== undefined) throw new UsageError(`--${name} does not apply to ${method}`);
  }
  const alpha = numberOption(args, "alpha");
  const epsilon = numberOption(args, "epsilon");
  const examples = numberOption(args, "examples");
  const fisherTarget = choiceOption(args, "fisher-target", FISHER_TARGETS);
  const report = await runOnWorker(io, WorkerRequests.dataMerge, {
    models: args.positionals,
    data: dataSpec(args),
    method,
    ...(alpha !== undefined ? { alpha } : {}),
    ...(epsilon !== undefined ? { epsilon } : {}),
    ...(examples !== undefined ? { examples } : {}),
    ...(fisherTarget !== undefined ? { fisherTarget } : {}),
    out: stringOption(args, "out"),
    backend: backendOption(args),
  });
  await printReport(args, io, report, formatComparison(report));
  return 0;
}
