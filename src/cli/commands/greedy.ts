/** `model-soup greedy`: the greedy soup (best first; keep an ingredient only if it does not hurt validation). */
import { stringOption } from "../args.js";
import type { Command } from "../command.js";
import { UsageError } from "../../core/errors.js";
import { WorkerRequests } from "../../protocol/worker.js";
import { formatComparison } from "../text/report.js";
import { runOnWorker } from "../worker-session.js";
import { alignOption, alignOptions } from "./align-options.js";
import { backendOption, dataOptions, dataSpec, models, printReport } from "./options.js";

export const greedyCommand: Command = {
  name: "greedy",
  summary: "Make a greedy soup: ingredients by validation metric, each kept only if it does not hurt.",
  usage: "greedy <model>... --data <file> --out <path> [--align weight|activation [--reference <model>]] [--label <column|key>] [--seed N] [--backend B] [--json]",
  options: {
    ...dataOptions,
    ...alignOptions,
    out: { type: "string", valueName: "<path>", description: "Where to write the merged model and its recipe." },
    report: { type: "string", valueName: "<file.json>", description: "Write the JSON report to a file." },
  },
  async run(args, io) {
    const out = stringOption(args, "out");
    if (out === undefined) throw new UsageError("--out <path> is required");
    const report = await runOnWorker(io, WorkerRequests.greedy, { models: models(args), data: dataSpec(args), align: alignOption(args), backend: backendOption(args), out });
    await printReport(args, io, report, formatComparison(report));
    return 0;
  },
};
