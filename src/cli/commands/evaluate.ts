/**
 * `model-soup evaluate`: each model, the uniform soup (and with --weights that weighted soup) and the ensemble on the
 * held-out split, plus mergeability.
 */
import type { Command } from "../command.js";
import { WorkerRequests } from "../../protocol/worker.js";
import { formatComparison } from "../text/report.js";
import { runOnWorker } from "../worker-session.js";
import { guardReport, inputProtection, modelArguments } from "../paths.js";
import { backendOption, dataOptions, dataSpec, printReport, reportOption, weightsOption } from "./options.js";

export const evaluateCommand: Command = {
  name: "evaluate",
  summary: "Compare the models, their uniform soup and their output ensemble on held-out data; check mergeability.",
  usage: "evaluate <model|folder>... --data <file> [--label <column|key>] [--seed N] [--weights w1,w2,...] [--backend B] [--json]",
  options: {
    ...dataOptions,
    weights: { type: "string", valueName: "w1,w2,...", description: "Also compare the soup with these weights, one per model, used as given." },
    report: reportOption,
  },
  async run(args, io) {
    const paths = await modelArguments(args, io, 2);
    const coefficients = weightsOption(args, paths.length);
    const data = dataSpec(args);
    await guardReport(args, await inputProtection(paths, data.path));
    const report = await runOnWorker(io, WorkerRequests.evaluate, {
      models: paths,
      data,
      ...(coefficients !== undefined ? { coefficients } : {}),
      backend: backendOption(args),
    });
    await printReport(args, io, report, formatComparison(report));
    return 0;
  },
};
