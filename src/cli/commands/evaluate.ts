/** `model-soup evaluate`: each model, the uniform soup and the ensemble on the held-out split, plus mergeability. */
import type { Command } from "../command.js";
import { WorkerRequests } from "../../protocol/worker.js";
import { formatComparison } from "../text/report.js";
import { runOnWorker } from "../worker-session.js";
import { backendOption, dataOptions, dataSpec, models, printReport } from "./options.js";

export const evaluateCommand: Command = {
  name: "evaluate",
  summary: "Compare the models, their uniform soup and their output ensemble on held-out data; check mergeability.",
  usage: "evaluate <model>... --data <file> [--label <column|key>] [--seed N] [--backend B] [--json]",
  options: { ...dataOptions, report: { type: "string", valueName: "<file.json>", description: "Write the JSON report to a file." } },
  async run(args, io) {
    const report = await runOnWorker(io, WorkerRequests.evaluate, { models: models(args), data: dataSpec(args), backend: backendOption(args) });
    await printReport(args, io, report, formatComparison(report));
    return 0;
  },
};
