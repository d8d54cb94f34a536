/** `model-soup learn`: learn the soup's coefficients from data; every ingredient's weights stay frozen. */
import { flag, usageLine } from "../args.js";
import type { Command } from "../command.js";
import {
  GRANULARITY_CHOICES,
  OBJECTIVE_CHOICES,
  OPTIMIZER_CHOICES,
  PARAMETERISATION_CHOICES,
} from "../../protocol/choices.js";
import { WorkerRequests } from "../../protocol/worker.js";
import { LEARN_DEFAULTS } from "../../protocol/learn-defaults.js";
import { formatComparison } from "../text/report.js";
import { runOnWorker } from "../worker-session.js";
import { baseArgument, guardReport, inputProtection, modelArguments, soupOutput } from "../paths.js";
import { alignOption, alignOptions } from "./align-options.js";
import { lossOption, lossOptions } from "./loss-option.js";
import {
  backendOption,
  choiceOption,
  choiceSpec,
  architectureArgument,
  architectureOption,
  torchArguments,
  torchOptions,
  dataOptions,
  dataSpec,
  runInputs,
  testOption,
  numberOption,
  OUT_DESCRIPTION,
  printReport,
  reportOption,
} from "./options.js";
import { followIfNotNodeZero } from "./follow-node.js";

const d = LEARN_DEFAULTS;

const learnOptions = {
  ...dataOptions,
  ...lossOptions,
  ...testOption,
  ...architectureOption,
  ...torchOptions,
  ...alignOptions,
  granularity: choiceSpec(GRANULARITY_CHOICES, "Coefficients learned:", d.granularity),
  param: choiceSpec(PARAMETERISATION_CHOICES, "How the coefficients are constrained:", d.parameterisation),
  objective: choiceSpec(OBJECTIVE_CHOICES, "What is minimised:", d.objective),
  optimizer: choiceSpec(
    OPTIMIZER_CHOICES,
    `Optimiser (L-BFGS takes at most ${d.fullBatchLimit} learning rows, a fixed seeded subset):`,
    d.optimizer,
  ),
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
  base: {
    type: "string",
    valueName: "<model>",
    description: "Learn λ in the task-vector form W = W_base + Σ λ_i (W_i − W_base).",
  },
  out: { type: "string", valueName: "<path>", description: OUT_DESCRIPTION },
  report: reportOption,
} as const;

export const learnCommand: Command = {
  name: "learn",
  summary:
    "Learn the coefficients of a weighted average of the models' weights from data, and compare on held-out data " +
    `(default: Adam, at most ${d.maxSteps} steps, early-stopped on validation; of the learned soup, the uniform soup, ` +
    "the greedy soup and each single model, the one with the lowest validation loss is kept; with --objective entropy, no candidate is compared).",
  usage: usageLine("learn <model|folder>...", learnOptions, ["data"]),
  options: learnOptions,
  async run(args, io) {
    const followed = await followIfNotNodeZero(args, io);
    if (followed !== undefined) return followed;
    // Paths first, before any work: models (folders resolved), the output and the report, checked by the guard.
    const models = await modelArguments(args, io, 2);
    const data = dataSpec(args);
    const base = await baseArgument(args);
    const protect = [...(await inputProtection(models, data.path, base)), ...runInputs(args)];
    const output = await soupOutput(args, models, { base, protect, optional: true });
    await guardReport(args, protect, output);
    const report = await runOnWorker(io, WorkerRequests.learn, {
      models,
      data,
      granularity: choiceOption(args, "granularity", GRANULARITY_CHOICES),
      parameterisation: choiceOption(args, "param", PARAMETERISATION_CHOICES),
      objective: choiceOption(args, "objective", OBJECTIVE_CHOICES),
      loss: lossOption(args),
      optimizer: choiceOption(args, "optimizer", OPTIMIZER_CHOICES),
      learningRate: numberOption(args, "lr"),
      maxSteps: numberOption(args, "steps"),
      batchSize: numberOption(args, "batch"),
      patience: numberOption(args, "patience"),
      ...(flag(args, "no-refit") ? { refit: false } : {}),
      base,
      align: alignOption(args),
      backend: backendOption(args),
      ...architectureArgument(args),
      ...torchArguments(args),
      out: output?.model,
    });
    await printReport(args, io, report, formatComparison(report));
    return 0;
  },
};
