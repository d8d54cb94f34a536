/** `model-soup greedy`: the greedy soup (best first; keep an ingredient only if it does not hurt validation). */
import { usageLine } from "../args.js";
import type { Command } from "../command.js";
import { WorkerRequests } from "../../protocol/worker.js";
import { formatComparison } from "../text/report.js";
import { runOnWorker } from "../worker-session.js";
import { guardReport, inputProtection, modelArguments, soupOutput } from "../paths.js";
import { alignOption, alignOptions } from "./align-options.js";
import { lossOption, lossOptions } from "./loss-option.js";
import {
  architectureArgument,
  architectureOption,
  torchArguments,
  torchOptions,
  backendOption,
  dataOptions,
  dataSpec,
  OUT_DESCRIPTION,
  printReport,
  reportOption,
  runInputs,
  testOption,
} from "./options.js";
import { followIfNotNodeZero } from "./follow-node.js";

const greedyOptions = {
  ...dataOptions,
  ...lossOptions,
  ...testOption,
  ...architectureOption,
  ...torchOptions,
  ...alignOptions,
  out: { type: "string", valueName: "<path>", description: OUT_DESCRIPTION },
  report: reportOption,
} as const;

export const greedyCommand: Command = {
  name: "greedy",
  summary: "Make a greedy soup: ingredients by validation metric, each kept only if it does not hurt.",
  usage: usageLine("greedy <model|folder>...", greedyOptions, ["data", "out"]),
  options: greedyOptions,
  async run(args, io) {
    const followed = await followIfNotNodeZero(args, io);
    if (followed !== undefined) return followed;
    const models = await modelArguments(args, io, 2);
    const data = dataSpec(args);
    const protect = [...(await inputProtection(models, data.path)), ...runInputs(args)];
    const output = await soupOutput(args, models, { protect });
    await guardReport(args, protect, output);
    const report = await runOnWorker(io, WorkerRequests.greedy, {
      models,
      data,
      loss: lossOption(args),
      align: alignOption(args),
      backend: backendOption(args),
      ...architectureArgument(args),
      ...torchArguments(args),
      out: output!.model,
    });
    await printReport(args, io, report, formatComparison(report));
    return 0;
  },
};
