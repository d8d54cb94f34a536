/** `model-soup learn`: learn the soup's coefficients from data; every ingredient's weights stay frozen. */
import { stringOption } from "../args.js";
import type { Command } from "../command.js";
import { WorkerRequests } from "../../protocol/worker.js";
import { formatComparison } from "../text/report.js";
import { runOnWorker } from "../worker-session.js";
import { alignOption, alignOptions } from "./align-options.js";
import { backendOption, choiceOption, dataOptions, dataSpec, models, numberOption, printReport } from "./options.js";

export const learnCommand: Command = {
  name: "learn",
  summary: "Learn the coefficients of a weighted average of the models' weights from data, and compare on held-out data.",
  usage:
    "learn <model>... --data <file> [--label <column|key>] [--granularity model|layer] [--param simplex|nonneg|free] " +
    "[--objective supervised|entropy] [--align weight|activation [--reference <model>]] [--out <path>] [--report <file.json>] [--seed N] [--backend B] [--json]",
  options: {
    ...dataOptions,
    ...alignOptions,
    granularity: { type: "string", valueName: "model|layer", description: "One coefficient per model (default), or per model per layer." },
    param: { type: "string", valueName: "simplex|nonneg|free", description: "Coefficients on the simplex (default), non-negative, or free." },
    objective: { type: "string", valueName: "supervised|entropy", description: "Labelled loss (default), or prediction entropy for unlabelled data." },
    optimizer: { type: "string", valueName: "lbfgs|adam", description: "Optimiser (default: L-BFGS; Adam for nonneg)." },
    lr: { type: "string", valueName: "<rate>", description: "Adam learning rate (default 0.05)." },
    steps: { type: "string", valueName: "<N>", description: "Adam epochs / L-BFGS iterations." },
    batch: { type: "string", valueName: "<N>", description: "Batch size (default 256)." },
    base: { type: "string", valueName: "<model>", description: "Learn λ in the task-vector form W = W_base + Σ λ_i (W_i − W_base)." },
    out: { type: "string", valueName: "<path>", description: "Write the merged model (same format as the inputs) and its recipe." },
    report: { type: "string", valueName: "<file.json>", description: "Write the JSON report to a file." },
  },
  async run(args, io) {
    const report = await runOnWorker(io, WorkerRequests.learn, {
      models: models(args),
      data: dataSpec(args),
      granularity: choiceOption(args, "granularity", ["model", "layer"] as const),
      parameterisation: choiceOption(args, "param", ["simplex", "nonneg", "free"] as const),
      objective: choiceOption(args, "objective", ["supervised", "entropy"] as const),
      optimizer: choiceOption(args, "optimizer", ["lbfgs", "adam"] as const),
      learningRate: numberOption(args, "lr"),
      maxSteps: numberOption(args, "steps"),
      batchSize: numberOption(args, "batch"),
      base: stringOption(args, "base"),
      align: alignOption(args),
      backend: backendOption(args),
      out: stringOption(args, "out"),
    });
    await printReport(args, io, report, formatComparison(report));
    return 0;
  },
};
