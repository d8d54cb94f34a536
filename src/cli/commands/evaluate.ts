/**
 * `model-soup evaluate`: each model, the uniform soup (and with --weights that weighted soup) and the ensemble on the
 * held-out split, plus mergeability; with --methods, further merges side by side (greedy, learned, RegMean, Fisher,
 * RegMean++, and with --base TSV-M, Iso-C, Iso-CTS, WUDI).
 */
import type { Command } from "../command.js";
import { ModelFileError, UsageError } from "../../core/errors.js";
import { missingLabels } from "../../core/data/labels-present.js";
import {
  BASE_METHOD_CHOICES,
  choiceValues,
  COMPARED_METHOD_CHOICES,
  FISHER_TARGET_CHOICES,
  type ComparedMethod,
} from "../../protocol/choices.js";
import { WorkerRequests } from "../../protocol/worker.js";
import { stringOption, usageLine, type ParsedArgs } from "../args.js";
import { formatComparison } from "../text/report.js";
import { runOnWorker } from "../worker-session.js";
import { guardReport, inputProtection, modelArguments } from "../paths.js";
import { dataAwareOptions } from "./data-aware-options.js";
import { alignOption, alignOptions } from "./align-options.js";
import { lossOption, lossOptions } from "./loss-option.js";
import {
  architectureArgument,
  architectureOption,
  torchArguments,
  torchOptions,
  backendOption,
  runInputs,
  testOption,
  choiceOption,
  dataOptions,
  dataSpec,
  numberOption,
  printReport,
  reportOption,
  weightsOption,
} from "./options.js";
import { followIfNotNodeZero } from "./follow-node.js";

const COMPARED = choiceValues(COMPARED_METHOD_CHOICES);
const NEEDS_BASE: readonly string[] = choiceValues(BASE_METHOD_CHOICES);

/**
 * --methods greedy,learned,regmean,fisher,... or all (the methods that need a base only when --base is given; those
 * the models' kind cannot run left out with their reason: skipUnavailable).
 */
function methodsOption(
  args: ParsedArgs,
  hasBase: boolean,
): { methods: ComparedMethod[]; skipUnavailable?: true } | undefined {
  const text = stringOption(args, "methods");
  if (text === undefined) return undefined;
  const names = text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 1 && names[0] === "all")
    return { methods: COMPARED.filter((m) => hasBase || !NEEDS_BASE.includes(m)), skipUnavailable: true };
  const unknown = names.filter((n) => !(COMPARED as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0)
    throw new UsageError(`--methods expects all or some of ${COMPARED.join(", ")} separated by commas, got "${text}"`);
  const baseless = names.filter((n) => NEEDS_BASE.includes(n));
  if (!hasBase && baseless.length > 0)
    throw new UsageError(`--methods ${baseless.join(",")} merge fine-tunes of one base model: give it with --base`);
  return { methods: names as ComparedMethod[] };
}

const evaluateOptions = {
  ...dataOptions,
  ...lossOptions,
  ...testOption,
  ...architectureOption,
  ...torchOptions,
  weights: {
    type: "string",
    valueName: "w1,w2,...",
    description: "Also compare the soup with these weights, one per model, used as given.",
  },
  methods: {
    type: "string",
    valueName: `all|${COMPARED.join(",")}`,
    description:
      "Also compare these merges on the same test split, with their default settings: all (those the models cannot run, such as RegMean on TorchScript, listed as not run with why), or some of them separated by commas — " +
      `${COMPARED_METHOD_CHOICES.map((c) => `${c.value}: ${c.label}`).join("; ")}.`,
  },
  base: {
    type: "string",
    valueName: "<path>",
    description: `With --methods: the model the others were fine-tuned from, for ${NEEDS_BASE.join(", ")} (their defaults; "all" includes them when it is given).`,
  },
  ...dataAwareOptions,
  align: {
    ...alignOptions.align!,
    description: `${alignOptions.align!.description} Adds the aligned uniform soup and the aligned learned soup (the learner's defaults) to the table.`,
  },
  reference: alignOptions.reference!,
  report: reportOption,
} as const;

export const evaluateCommand: Command = {
  name: "evaluate",
  summary: "Compare the models, their uniform soup and their output ensemble on held-out data; check mergeability.",
  usage: usageLine("evaluate <model|folder>...", evaluateOptions, ["data"]),
  options: evaluateOptions,
  async run(args, io) {
    const followed = await followIfNotNodeZero(args, io);
    if (followed !== undefined) return followed;
    const paths = await modelArguments(args, io, 2);
    const coefficients = weightsOption(args, paths.length);
    const data = dataSpec(args);
    const unlabeled = await missingLabels(data.path, data.label);
    if (unlabeled !== undefined) throw new ModelFileError(data.path, unlabeled);
    await guardReport(args, [...(await inputProtection(paths, data.path)), ...runInputs(args)]);
    const base = stringOption(args, "base");
    const asked = methodsOption(args, base !== undefined);
    if (base !== undefined && asked === undefined) throw new UsageError("--base applies only with --methods");
    const align = alignOption(args);
    if (asked !== undefined) {
      if (coefficients !== undefined) throw new UsageError("--weights and --methods cannot be combined");
      if (align !== undefined) throw new UsageError("--align and --methods cannot be combined");
      const alpha = numberOption(args, "alpha");
      const examples = numberOption(args, "examples");
      const epsilon = numberOption(args, "epsilon");
      const fisherTarget = choiceOption(args, "fisher-target", FISHER_TARGET_CHOICES);
      const compared = await runOnWorker(io, WorkerRequests.compare, {
        models: paths,
        data,
        loss: lossOption(args),
        ...asked,
        ...(base !== undefined ? { base } : {}),
        ...(alpha !== undefined ? { alpha } : {}),
        ...(examples !== undefined ? { examples } : {}),
        ...(epsilon !== undefined ? { epsilon } : {}),
        ...(fisherTarget !== undefined ? { fisherTarget } : {}),
        backend: backendOption(args),
        ...architectureArgument(args),
        ...torchArguments(args),
      });
      await printReport(args, io, compared, formatComparison(compared));
      return 0;
    }
    const report = await runOnWorker(io, WorkerRequests.evaluate, {
      models: paths,
      data,
      loss: lossOption(args),
      ...(coefficients !== undefined ? { coefficients } : {}),
      ...(align !== undefined ? { align } : {}),
      backend: backendOption(args),
      ...architectureArgument(args),
      ...torchArguments(args),
    });
    await printReport(args, io, report, formatComparison(report));
    return 0;
  },
};
