/** `model-soup learn`: learn the soup's coefficients from data; every ingredient's weights stay frozen. */
import type { Command } from "../command.js";
import { WorkerRequests } from "../../protocol/worker.js";
import { formatComparison } from "../text/report.js";
import { runOnWorker } from "../worker-session.js";
import { baseArgument, guardReport, inputProtection, modelArguments, soupOutput } from "../paths.js";
import { backendOption, choiceOption, dataOptions, dataSpec, numberOption, OUT_DESCRIPTION, printReport, reportOption } from "./options.js";

export const learnCommand: Command = {
  name: "learn",
  summary: "Learn the coefficients of a weighted average of the models' weights from data, and compare on held-out data.",
  usage:
    "learn <model|folder>... --data <file> [--label <column|key>] [--granularity model|layer] [--param simplex|nonneg|free] " +
    "[--objective supervised|entropy] [--out <path>] [--report <file.json>] [--seed N] [--backend B] [--json]",
  options: {
    ...dataOptions,
    granularity: { type: "string", valueName: "model|layer", description: "One coefficient per model (default), or per model per layer." },
    param: { type: "string", valueName: "simplex|nonneg|free", description: "Coefficients on the simplex (default), non-negative, or free." },
    objective: { type: "string", valueName: "supervised|entropy", description: "Labelled loss (default), or prediction entropy for unlabelled data." },
    optimizer: { type: "string", valueName: "lbfgs|adam", description: "Optimiser (default: L-BFGS; Adam for nonneg)." },
    lr: { type: "string", valueName: "<rate>", description: "Adam learning rate (default 0.05)." },
    steps: { type: "string", valueName: "<N>", description: "Adam epochs / L-BFGS iterations." },
    batch: { type: "string", valueName: "<N>", description: "Batch size (default 256)." },
    base: { type: "string", valueName: "<model>", description: "Learn λ in the task-vector form W = W_base + Σ λ_i (W_i − W_base)." },
    out: { type: "string", valueName: "<path>", description: OUT_DESCRIPTION },
    report: reportOption,
  },
  async run(args, io) {
    // Paths first, before any work: models (folders resolved), the output and the report, checked by the guard.
    const models = await modelArguments(args, io, 2);
    const data = dataSpec(args);
    const base = await baseArgument(args);
    const protect = await inputProtection(models, data.path, base);
    const output = await soupOutput(args, models, { base, protect, optional: true });
    await guardReport(args, protect, output);
    const report = await runOnWorker(io, WorkerRequests.learn, {
      models,
      data,
      granularity: choiceOption(args, "granularity", ["model", "layer"] as const),
      parameterisation: choiceOption(args, "param", ["simplex", "nonneg", "free"] as const),
      objective: choiceOption(args, "objective", ["supervised", "entropy"] as const),
      optimizer: choiceOption(args, "optimizer", ["lbfgs", "adam"] as const),
      learningRate: numberOption(args, "lr"),
      maxSteps: numberOption(args, "steps"),
      batchSize: numberOption(args, "batch"),
      base,
      backend: backendOption(args),
      out: output?.model,
    });
    await printReport(args, io, report, formatComparison(report));
    return 0;
  },
};
