/** `model-soup learn`: learn the soup's coefficients from data; every ingredient's weights stay frozen. */
import { flag } from "../args.js";
import type { Command } from "../command.js";
import { WorkerRequests } from "../../protocol/worker.js";
import { LEARN_DEFAULTS } from "../../worker/learn/defaults.js";
import { formatComparison } from "../text/report.js";
import { runOnWorker } from "../worker-session.js";
import { baseArgument, guardReport, inputProtection, modelArguments, soupOutput } from "../paths.js";
import { backendOption, choiceOption, dataOptions, dataSpec, numberOption, OUT_DESCRIPTION, printReport, reportOption } from "./options.js";

const d = LEARN_DEFAULTS;

export const learnCommand: Command = {
  name: "learn",
  summary:
    "Learn the coefficients of a weighted average of the models' weights from data, and compare on held-out data " +
    `(default: Adam, at most ${d.maxSteps} steps, early-stopped on validation, never worse on validation than the uniform soup, ` +
    "the greedy soup or any single model).",
  usage:
    "learn <model|folder>... --data <file> [--label <column|key>] [--scale <k>] [--seed <N>] [--granularity model|layer] " +
    "[--param simplex|nonneg|free] [--objective supervised|entropy] [--optimizer adam|lbfgs] [--lr <rate>] [--steps <N>] " +
    "[--batch <N>] [--patience <N>] [--no-refit] [--base <model>] [--out <path>] [--report <file.json>] [--backend <name>] [--json]",
  options: {
    ...dataOptions,
    granularity: { type: "string", valueName: "model|layer", description: "One coefficient per model (default), or per model per layer." },
    param: { type: "string", valueName: "simplex|nonneg|free", description: "Coefficients on the simplex (default), non-negative, or free." },
    objective: { type: "string", valueName: "supervised|entropy", description: "Labelled loss (default), or prediction entropy for unlabelled data." },
    optimizer: {
      type: "string",
      valueName: "adam|lbfgs",
      description: "Optimiser (default adam; lbfgs is full-batch and needs --param simplex or free).",
    },
    lr: {
      type: "string",
      valueName: "<rate>",
      description: `Adam learning rate (default ${d.learningRate}, decayed to 0 by a cosine over the step budget).`,
    },
    steps: {
      type: "string",
      valueName: "<N>",
      description: `Step budget: Adam steps (default ${d.maxSteps}, whatever the number of rows) or L-BFGS iterations (default ${d.lbfgsIterations}).`,
    },
    batch: { type: "string", valueName: "<N>", description: `Rows per Adam step (default ${d.batchSize}).` },
    patience: {
      type: "string",
      valueName: "<N>",
      description:
        `Stop after N steps without a lower validation loss (default ${d.patienceSteps}, at least 3 evaluations; validation is ` +
        `scored every ${d.evaluateEvery} steps, or every ⌈validation rows / batch⌉ when more; L-BFGS: ${d.lbfgsPatience} iterations).`,
    },
    "no-refit": {
      type: "boolean",
      description:
        `Do not learn again on learn + validation (by default, when they hold at most ${d.refitMaxRows} rows and the learned soup ` +
        "won on validation, it is learned again on both for the steps validation chose; test rows are never used).",
    },
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
      optimizer: choiceOption(args, "optimizer", ["adam", "lbfgs"] as const),
      learningRate: numberOption(args, "lr"),
      maxSteps: numberOption(args, "steps"),
      batchSize: numberOption(args, "batch"),
      patience: numberOption(args, "patience"),
      ...(flag(args, "no-refit") ? { refit: false } : {}),
      base,
      backend: backendOption(args),
      out: output?.model,
    });
    await printReport(args, io, report, formatComparison(report));
    return 0;
  },
};
