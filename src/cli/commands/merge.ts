/**
 * `model-soup merge`: a merge with given coefficients or method parameters; no data needed, except for the
 * data-aware methods (RegMean, Fisher, RegMean++), which also print the held-out comparison.
 */
import { escapeControl } from "../../core/io/display.js";
import { stringOption, usageLine, type ParsedArgs } from "../args.js";
import type { Command } from "../command.js";
import { UsageError } from "../../core/errors.js";
import { MERGE_METHOD_IDS } from "../../core/merge/spec.js";
import { getMergeMethod } from "../../core/merge/registry.js";
import { FISHER_TARGET_CHOICES } from "../../protocol/choices.js";
import { isDataAwareMethod, WorkerRequests, type DataAwareMethod } from "../../protocol/worker.js";
import { formatComparison } from "../text/report.js";
import { runOnWorker } from "../worker-session.js";
import { runInProcess } from "../in-process.js";
import { runMerge } from "../../core/soup/fixed-merge.js";
import { baseArgument, guardReport, inputProtection, modelArguments, soupOutput } from "../paths.js";
import { dataAwareOptions } from "./data-aware-options.js";
import {
  architectureArgument,
  backendOption,
  runInputs,
  testOption,
  choiceOption,
  dataOptions,
  dataSpec,
  numberOption,
  OUT_DESCRIPTION,
  printReport,
  reportOption,
  torchArguments,
  torchOptions,
  weightsOption,
} from "./options.js";
import { followIfNotNodeZero } from "./follow-node.js";
import { alignOption, alignOptions } from "./align-options.js";
import { lossOption, lossOptions } from "./loss-option.js";
import { dataIfGiven, formatAlignResult } from "./align.js";

/** Method parameters given on the command line, by their mergekit names. */
function methodParams(args: ParsedArgs): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const name of ["t", "density", "lambda", "seed", "steps", "lr"]) {
    const value = numberOption(args, name);
    if (value !== undefined) params[name] = value;
  }
  // Options spelt with dashes on the command line, with underscores in recipes (as mergekit spells parameters).
  for (const name of ["rank-fraction", "common-space"]) {
    const value = numberOption(args, name);
    if (value !== undefined) params[name.replace("-", "_")] = value;
  }
  if (args.values["no-normalize"] === true) params.normalize = false;
  return params;
}

/** The default λ_i of each method whose per-model weight has one (from the method's own parameter definition). */
const TASK_WEIGHT_DEFAULTS = MERGE_METHOD_IDS.flatMap((id) => {
  const weight = getMergeMethod(id).modelParams.find((p) => p.name === "weight");
  return weight?.default !== undefined ? [`${id} ${String(weight.default)}`] : [];
})
  .join(", ")
  .concat(" by default");

// --python, --device, --dtype, --nproc and the several-machine options, as learn takes them; --architecture below.
const { architecture: torchArchitecture, ...torchRunOptions } = torchOptions;

/** The options that only a merge which runs the models takes (RegMean/Fisher/RegMean++ and --align). */
const RUN_ONLY = ["architecture", "test", ...Object.keys(torchRunOptions)];

const mergeOptions = {
  weights: {
    type: "string",
    valueName: "w1,w2,...",
    description: `One weight per model (default: uniform). For the task-vector methods, each model's λ_i: ${TASK_WEIGHT_DEFAULTS}.`,
  },
  method: {
    type: "string",
    valueName: MERGE_METHOD_IDS.join("|"),
    description: `Merge method: ${MERGE_METHOD_IDS.join(", ")} (default linear).`,
  },
  base: {
    type: "string",
    valueName: "<path>",
    description: "The base model the others were fine-tuned from (task-vector methods).",
  },
  t: { type: "string", valueName: "<t>", description: "SLERP interpolation factor." },
  density: { type: "string", valueName: "<d>", description: "TIES/DARE: fraction of each task vector kept." },
  lambda: {
    type: "string",
    valueName: "<λ>",
    description: "Task arithmetic/TIES/DARE/TSV-M/Iso-C/Iso-CTS: scale of the merged task vector (default 1).",
  },
  "rank-fraction": {
    type: "string",
    valueName: "<f>",
    description: "TSV-M: fraction of each task matrix's singular triplets kept (default 1/number of models).",
  },
  "common-space": {
    type: "string",
    valueName: "<f>",
    description: "Iso-CTS: fraction of each weight's singular directions shared by all tasks (default 0.8).",
  },
  steps: { type: "string", valueName: "<N>", description: "WUDI: Adam steps per weight matrix (default 300)." },
  lr: {
    type: "string",
    valueName: "<η>",
    description: "WUDI: Adam's learning rate (default 0: 1 % of the RMS of each matrix's summed task vectors).",
  },
  seed: {
    type: "string",
    valueName: "<N>",
    description:
      "DARE: seed of the random drops; RegMean/Fisher/RegMean++: seed of the learn/validation/test split (default 0).",
  },
  ...dataAwareOptions,
  report: { ...reportOption, description: `RegMean/Fisher/RegMean++: ${reportOption.description}` },
  "no-normalize": { type: "boolean", description: "Linear: do not divide by the sum of the weights." },
  out: { type: "string", valueName: "<path>", description: OUT_DESCRIPTION },
  ...alignOptions,
  data: {
    ...dataOptions.data!,
    description:
      "RegMean/Fisher/RegMean++: the data whose statistics weight the merge. With --align: data whose activations are matched (activation) and, with labels, that picks the reference and REPAIRs the merge (models without BatchNormalization; kept only when it lowers the validation loss); split with --seed (default 0).",
  },
  test: { ...testOption.test!, description: `RegMean/Fisher: ${testOption.test!.description}` },
  architecture: {
    ...torchArchitecture!,
    description: `RegMean/Fisher and --align (which run the models): ${torchArchitecture!.description}`,
  },
  ...torchRunOptions,
  label: dataOptions.label!,
  loss: {
    ...lossOptions.loss!,
    description: `RegMean/Fisher, and --align with labelled data: ${lossOptions.loss!.description}`,
  },
  scale: dataOptions.scale!,
  "max-rows": dataOptions["max-rows"]!,
  backend: dataOptions.backend!,
  json: { type: "boolean", description: "Print the result as JSON." },
} as const;

export const mergeCommand: Command = {
  name: "merge",
  summary:
    "Merge with given weights (uniform by default), a task-vector or SVD-based method (with --base), or RegMean/Fisher/RegMean++ on data; writes the model and its recipe.",
  usage: usageLine("merge <model|folder>...", mergeOptions, ["out"]),
  options: mergeOptions,
  async run(args, io) {
    const method = stringOption(args, "method");
    // On a machine other than node 0 (--node-rank K ≥ 1) a merge that runs the models only runs its ranks.
    if ((method !== undefined && isDataAwareMethod(method)) || alignOption(args) !== undefined) {
      const followed = await followIfNotNodeZero(args, io);
      if (followed !== undefined) return followed;
    }
    if (method !== undefined && isDataAwareMethod(method)) return runDataAware(method, args, io);
    const models = await modelArguments(args, io, 1);
    const base = await baseArgument(args);
    const output = await soupOutput(args, models, { base });
    const align = alignOption(args);
    if (align !== undefined) {
      if (method !== undefined && method !== "linear" && method !== "uniform") {
        throw new UsageError(`--align merges with uniform or given weights (method linear), not ${method}`);
      }
      for (const name of ["t", "density", "lambda", "no-normalize", "rank-fraction", "common-space", "steps", "lr"]) {
        if (args.values[name] !== undefined)
          throw new UsageError(
            `--${name} does not apply with --align (a weighted average of the aligned models, weights normalised)`,
          );
      }
      const coefficients = weightsOption(args, models.length);
      const data = dataIfGiven(args);
      if (data === undefined && args.values.loss !== undefined)
        throw new UsageError("--loss needs --data: it is the loss the merge is scored with on labelled data");
      const result = await runOnWorker(io, WorkerRequests.align, {
        models,
        align,
        ...(data ? { data, loss: lossOption(args) } : {}),
        out: output!.model,
        merge: coefficients !== undefined ? { coefficients } : {},
        backend: backendOption(args),
        ...architectureArgument(args),
        ...torchArguments(args),
      });
      await printReport(args, io, result, formatAlignResult(result));
      return 0;
    }
    if (args.values.loss !== undefined)
      throw new UsageError("--loss applies to RegMean/Fisher (--method regmean|fisher) and to --align with --data");
    for (const name of RUN_ONLY)
      if (args.values[name] !== undefined)
        throw new UsageError(`--${name} applies to --method regmean/fisher and --align, which run the models`);
    // A fixed-weight merge needs no TensorFlow.js: it runs here rather than in a worker process (in-process.ts).
    const result = await runInProcess(io, runMerge, {
      models,
      method: method ?? "linear",
      coefficients: weightsOption(args, models.length),
      base,
      params: methodParams(args),
      out: output!.model,
    });
    for (const w of result.warnings) io.stderr(`warning: ${escapeControl(w)}\n`);
    io.stdout(
      args.values.json
        ? `${JSON.stringify(result, null, 2)}\n`
        : `Wrote ${escapeControl(result.model)}\nRecipe ${escapeControl(result.recipe)}\n`,
    );
    return 0;
  },
};

/** RegMean / Fisher: statistics on the learn split, the merge judged on the test split, written when --out is given. */
async function runDataAware(
  method: DataAwareMethod,
  args: ParsedArgs,
  io: Parameters<Command["run"]>[1],
): Promise<number> {
  for (const name of ["weights", "base", "t", "density", "lambda", "rank-fraction", "common-space", "steps", "lr"]) {
    if (args.values[name] !== undefined) throw new UsageError(`--${name} does not apply to ${method}`);
  }
  // Paths first, before any work: models (folders resolved), the output and the report, checked by the guard.
  const models = await modelArguments(args, io, 2);
  const data = dataSpec(args);
  const protect = [...(await inputProtection(models, data.path)), ...runInputs(args)];
  const output = await soupOutput(args, models, { protect, optional: true });
  await guardReport(args, protect, output);
  const alpha = numberOption(args, "alpha");
  const epsilon = numberOption(args, "epsilon");
  const examples = numberOption(args, "examples");
  const fisherTarget = choiceOption(args, "fisher-target", FISHER_TARGET_CHOICES);
  const report = await runOnWorker(io, WorkerRequests.dataMerge, {
    models,
    data,
    loss: lossOption(args),
    method,
    ...(alpha !== undefined ? { alpha } : {}),
    ...(epsilon !== undefined ? { epsilon } : {}),
    ...(examples !== undefined ? { examples } : {}),
    ...(fisherTarget !== undefined ? { fisherTarget } : {}),
    out: output?.model,
    backend: backendOption(args),
    ...architectureArgument(args),
    ...torchArguments(args),
  });
  await printReport(args, io, report, formatComparison(report));
  return 0;
}
