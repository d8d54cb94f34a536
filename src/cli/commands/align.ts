/** `model-soup align`: write every model with its units permuted to match a reference model (same function, new order). */
import { stringOption } from "../args.js";
import type { Command } from "../command.js";
import { UsageError } from "../../core/errors.js";
import { WorkerRequests, type AlignResult, type DataSpec } from "../../protocol/worker.js";
import { formatAlignment } from "../text/alignment.js";
import { runOnWorker } from "../worker-session.js";
import { ALIGN_METHODS, alignOptions } from "./align-options.js";
import { backendOption, choiceOption, dataOptions, dataSpec, printReport } from "./options.js";
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

export const alignCommand: Command = {
  name: "align",
  summary: "Permute each model's units to match a reference model (Git Re-Basin); writes the aligned models, each with a recipe.",
  usage: "align <model>... --out <folder> [--method weight|activation] [--data <file>] [--reference <model>] [--backend B] [--json]",
  options: {
    ...dataOptions,
    method: { type: "string", valueName: "weight|activation", description: "Weight matching (default; no data) or activation matching (needs --data)." },
    reference: alignOptions.reference!,
    out: { type: "string", valueName: "<folder>", description: "The folder that receives the aligned models and their recipes." },
    report: { type: "string", valueName: "<file.json>", description: "Write the JSON result to a file." },
  },
  async run(args, io) {
    const out = stringOption(args, "out");
    if (out === undefined) throw new UsageError("--out <folder> is required");
    const method = choiceOption(args, "method", ALIGN_METHODS) ?? "weight";
    const reference = stringOption(args, "reference");
    const data = dataIfGiven(args);
    const result = await runOnWorker(io, WorkerRequests.align, {
      models: await modelArguments(args, io, 2),
      align: { method, ...(reference !== undefined ? { reference } : {}) },
      ...(data ? { data } : {}),
      out,
      backend: backendOption(args),
    });
    await printReport(args, io, result, formatAlignResult(result));
    return 0;
  },
};
