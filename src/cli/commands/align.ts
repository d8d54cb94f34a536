/** `model-soup align`: write every model with its units permuted to match a reference model (same function, new order). */
import { stringOption, usageLine } from "../args.js";
import type { Command } from "../command.js";
import { UsageError } from "../../core/errors.js";
import { WorkerRequests, type AlignResult, type DataSpec } from "../../protocol/worker.js";
import { formatAlignment } from "../text/alignment.js";
import { runOnWorker } from "../worker-session.js";
import { ALIGN_METHOD_CHOICES } from "../../protocol/choices.js";
import { alignOptions } from "./align-options.js";
import { lossOption, lossOptions } from "./loss-option.js";
import {
  architectureArgument,
  backendOption,
  choiceOption,
  choiceSpec,
  dataOptions,
  dataSpec,
  printReport,
  torchArguments,
  torchOptions,
} from "./options.js";
import { followIfNotNodeZero } from "./follow-node.js";
import { modelArguments } from "../paths.js";

/** The data options when --data is given (activation matching needs it; with labels it also picks the reference). */
export function dataIfGiven(args: Parameters<Command["run"]>[0]): DataSpec | undefined {
  return stringOption(args, "data") === undefined ? undefined : dataSpec(args);
}

export function formatAlignResult(result: AlignResult): string {
  const lines = [formatAlignment(result.alignment)];
  if (result.warnings.length > 0) lines.push("", ...result.warnings.map((w) => `warning: ${w}`));
  lines.push("", ...result.outputs.flatMap((o) => [`Wrote ${o.model}`, `Recipe ${o.recipe}`]));
  return lines.join("\n");
}

const alignCommandOptions = {
  ...dataOptions,
  ...lossOptions,
  ...torchOptions,
  method: choiceSpec(ALIGN_METHOD_CHOICES, "How units are matched (activation needs --data):", "weight"),
  reference: alignOptions.reference!,
  out: {
    type: "string",
    valueName: "<folder>",
    description: "The folder that receives the aligned models and their recipes.",
  },
  report: { type: "string", valueName: "<file.json>", description: "Write the JSON result to a file." },
} as const;

export const alignCommand: Command = {
  name: "align",
  summary:
    "Permute each model's units to match a reference model (Git Re-Basin); writes the aligned models, each with a recipe.",
  usage: usageLine("align <model>...", alignCommandOptions, ["out"]),
  options: alignCommandOptions,
  async run(args, io) {
    const followed = await followIfNotNodeZero(args, io);
    if (followed !== undefined) return followed;
    const out = stringOption(args, "out");
    if (out === undefined) throw new UsageError("--out <folder> is required");
    const method = choiceOption(args, "method", ALIGN_METHOD_CHOICES) ?? "weight";
    const reference = stringOption(args, "reference");
    const data = dataIfGiven(args);
    if (data === undefined && args.values.loss !== undefined)
      throw new UsageError("--loss needs --data: it is the loss the models are scored with on labelled data");
    const result = await runOnWorker(io, WorkerRequests.align, {
      models: await modelArguments(args, io, 2),
      align: { method, ...(reference !== undefined ? { reference } : {}) },
      ...(data ? { data, loss: lossOption(args) } : {}),
      out,
      backend: backendOption(args),
      ...architectureArgument(args),
      ...torchArguments(args),
    });
    await printReport(args, io, result, formatAlignResult(result));
    return 0;
  },
};
