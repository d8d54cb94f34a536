/** Options several commands share: data, backend, JSON output. */
import { UsageError } from "../../core/errors.js";
import {
  BACKEND_CHOICES,
  choiceValues,
  DEVICE_CHOICES,
  DTYPE_CHOICES,
  isDeviceName,
  type BackendName,
  type Choice,
} from "../../protocol/choices.js";
import { torchArchitecture } from "../../protocol/torch-architecture.js";
import type { DataSpec, RunOptions } from "../../protocol/worker.js";
import { flag, stringOption, type OptionSpec, type ParsedArgs } from "../args.js";
import type { CliIO } from "../command.js";
import { writeTextOutput } from "../paths.js";
import type { ProtectedPath } from "../../core/io/output-guard.js";

/**
 * A string option whose value is one of a choice list (src/protocol/choices.ts): its value names and the meaning
 * of each value in the help come from the list.
 */
export function choiceSpec<T extends string>(
  list: readonly Choice<T>[],
  description: string,
  defaultValue?: T,
): OptionSpec {
  const values = list.map(
    (c) => `${c.label === c.value ? c.value : `${c.value}: ${c.label}`}${c.value === defaultValue ? " [default]" : ""}`,
  );
  return {
    type: "string",
    valueName: choiceValues(list).join("|"),
    description: `${description} ${values.join("; ")}.`,
  };
}

export const dataOptions: Record<string, OptionSpec> = {
  data: {
    type: "string",
    valueName: "<file>",
    description: "Data: .npz, .npy (x; y beside it), .csv[.gz], .json, or an image folder.",
  },
  label: {
    type: "string",
    valueName: "<column|key|none>",
    description:
      "CSV column or npz/JSON key with the labels (default: last column / y); none: the file has no labels (learn --objective entropy).",
  },
  scale: {
    type: "string",
    valueName: "<k>",
    description: "Multiply every input value by k (e.g. 0.0625 for 0..16 pixels).",
  },
  seed: { type: "string", valueName: "<N>", description: "Seed of the learn/validation/test split (default 0)." },
  "max-rows": {
    type: "string",
    valueName: "<N>",
    description:
      "Use at most N rows of each data file: a sample seeded by --seed. From an x.npy/y.npy pair only those rows are read, so memory is bounded by N, not by the file (other formats are read whole, then sampled).",
  },
  backend: choiceSpec(BACKEND_CHOICES, "TensorFlow.js backend (default: the fastest that loads):"),
  json: { type: "boolean", description: "Print the report as JSON." },
};

/** `--test <file>`: the user's own held-out rows, on every command with --data that reports test figures. */
export const testOption: Record<string, OptionSpec> = {
  test: {
    type: "string",
    valueName: "<file>",
    description:
      "Your own held-out rows (same label, input key and scale as --data), used only for the final comparison; " +
      "--data is then split into learn and validation only (75% / 25% by default).",
  },
};

/** `--architecture <file>`: the architecture of weights-only checkpoints, on every command that runs the models. */
export const architectureOption: Record<string, OptionSpec> = {
  architecture: {
    type: "string",
    valueName: "<file>",
    description:
      "For weights-only checkpoints (Keras save_weights .h5/.hdf5, .weights.h5): a full model of the same architecture " +
      "(.keras, .h5, model.json) or a topology JSON (model.to_json()); the weights come from each checkpoint.",
  },
};

/**
 * The options of commands that run PyTorch models (learn, evaluate, greedy): `--architecture` with its PyTorch forms,
 * the interpreter, the device and the dtype.
 */
export const torchOptions: Record<string, OptionSpec> = {
  architecture: {
    type: "string",
    valueName: "<file|torchvision:name|file.py:fn|module:fn>",
    description:
      `${architectureOption.architecture!.description} PyTorch state dicts and safetensors: torchvision:<name> (num_classes from the weights), ` +
      "<file.py>:<function> or <module>:<callable> (your own code, run to build the model; or record it once in a model-soup.json " +
      'beside the checkpoints: {"architecture": "build.py:build"}); TorchScript files need none, nor does a Hugging Face ' +
      "model folder (config.json beside the weights; huggingface:<folder> names one), which needs transformers in that Python.",
  },
  python: {
    type: "string",
    valueName: "<path>",
    description:
      "PyTorch models: the Python to run them with (default: the first python3/python on PATH, then in the system folders, whose torch imports).",
  },
  device: {
    type: "string",
    valueName: `${choiceValues(DEVICE_CHOICES).join("|")}|cuda:N`,
    description: `PyTorch models: where they run: ${DEVICE_CHOICES.map((c) => `${c.value}: ${c.label}`).join("; ")} (default auto).`,
  },
  dtype: choiceSpec(DTYPE_CHOICES, "PyTorch models: the forward pass's dtype:", "float32"),
  nproc: {
    type: "string",
    valueName: "<N>",
    description:
      "PyTorch models: N data-parallel ranks on this machine (torch.distributed: gloo on CPU, NCCL on GPUs), each running its share of every batch and of the rows whose statistics RegMean, Fisher and --align gather, summed over the ranks (default 1).",
  },
  nnodes: {
    type: "string",
    valueName: "<N>",
    description:
      "PyTorch models on several machines, as torchrun takes them: run the same command on each with its own --node-rank (default 1). Every machine needs the models and the data at the same paths.",
  },
  "node-rank": {
    type: "string",
    valueName: "<K>",
    description:
      "This machine's place, 0..nnodes−1 (default 0). Node 0 learns, reports and writes; the others only run their ranks, which follow node 0, and write nothing.",
  },
  "master-addr": {
    type: "string",
    valueName: "<host>",
    description: "With --nnodes: node 0's address, where its rank 0 listens (default 127.0.0.1).",
  },
  "master-port": {
    type: "string",
    valueName: "<port>",
    description: "With --nnodes: rank 0's TCP port on node 0 (needed with several machines).",
  },
};

type TorchArguments = Pick<
  RunOptions,
  "python" | "device" | "dtype" | "nproc" | "nnodes" | "nodeRank" | "masterAddr" | "masterPort"
>;

/** A whole-number option at least `least`, or undefined when not given. */
function wholeOption(args: ParsedArgs, name: string, least: number, what: string): number | undefined {
  const value = numberOption(args, name);
  if (value !== undefined && !(Number.isInteger(value) && value >= least))
    throw new UsageError(`--${name} expects ${what}; got ${stringOption(args, name)}`);
  return value;
}

/** --nnodes, --node-rank, --master-addr and --master-port, checked against one another. */
function nodeArguments(args: ParsedArgs): Pick<RunOptions, "nnodes" | "nodeRank" | "masterAddr" | "masterPort"> {
  const nnodes = wholeOption(args, "nnodes", 1, "a whole number of machines, 1 or more");
  const nodeRank = wholeOption(args, "node-rank", 0, "a whole number from 0 to --nnodes − 1");
  const masterAddr = stringOption(args, "master-addr");
  const masterPort = wholeOption(args, "master-port", 1, "a TCP port, 1 to 65535");
  if (masterPort !== undefined && masterPort > 65535)
    throw new UsageError(`--master-port expects a TCP port, 1 to 65535; got ${masterPort}`);
  if (nodeRank !== undefined && nodeRank >= (nnodes ?? 1))
    throw new UsageError(`--node-rank ${nodeRank} needs --nnodes above it (machines are numbered 0..nnodes−1)`);
  if ((nnodes ?? 1) > 1 && (masterPort === undefined || masterAddr === undefined))
    throw new UsageError(
      "--nnodes above 1 needs --master-addr (node 0's address) and --master-port (a free port there), the same on every machine",
    );
  return {
    ...(nnodes !== undefined ? { nnodes } : {}),
    ...(nodeRank !== undefined ? { nodeRank } : {}),
    ...(masterAddr !== undefined ? { masterAddr } : {}),
    ...(masterPort !== undefined ? { masterPort } : {}),
  };
}

/** --python, --device, --dtype, --nproc and the several-machine options as the request's RunOptions take them. */
export function torchArguments(args: ParsedArgs): TorchArguments {
  const python = stringOption(args, "python");
  const device = stringOption(args, "device");
  if (device !== undefined && !isDeviceName(device))
    throw new UsageError(
      `--device must be one of ${choiceValues(DEVICE_CHOICES).join(", ")} or cuda:N; got "${device}"`,
    );
  const dtype = choiceOption(args, "dtype", DTYPE_CHOICES);
  const nproc = wholeOption(args, "nproc", 1, "a whole number of ranks, 1 or more");
  return {
    ...(python !== undefined ? { python } : {}),
    ...(device !== undefined ? { device } : {}),
    ...(dtype !== undefined ? { dtype } : {}),
    ...(nproc !== undefined ? { nproc } : {}),
    ...nodeArguments(args),
  };
}

/** The architecture file of `--architecture`, as the request's RunOptions take it. */
export function architectureArgument(args: ParsedArgs): { architecture?: string } {
  const architecture = stringOption(args, "architecture");
  return architecture !== undefined ? { architecture } : {};
}

/** The inputs besides the models and the data that no output may overwrite: --test and --architecture files. */
export function runInputs(args: ParsedArgs): ProtectedPath[] {
  const test = stringOption(args, "test");
  const given = stringOption(args, "architecture");
  // A PyTorch architecture names a file only in its <file.py>:<function> form.
  const torch = given === undefined ? undefined : torchArchitecture(given);
  const architecture = torch === undefined ? given : torch.kind === "file" ? torch.file : undefined;
  return [
    ...(test !== undefined ? [{ path: test, role: `the test data ${test}` }] : []),
    ...(architecture !== undefined ? [{ path: architecture, role: `the architecture file ${architecture}` }] : []),
  ];
}

export function numberOption(args: ParsedArgs, name: string): number | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new UsageError(`--${name} expects a number, got "${text}"`);
  return value;
}

export function choiceOption<T extends string>(
  args: ParsedArgs,
  name: string,
  list: readonly Choice<T>[],
): T | undefined {
  const value = stringOption(args, name);
  if (value === undefined) return undefined;
  const choices = choiceValues(list);
  if (!(choices as readonly string[]).includes(value))
    throw new UsageError(`--${name} must be one of ${choices.join(", ")}; got "${value}"`);
  return value as T;
}

/** --weights w1,w2,...: one number per model. */
export function weightsOption(args: ParsedArgs, count: number): number[] | undefined {
  const text = stringOption(args, "weights");
  if (text === undefined) return undefined;
  const values = text.split(",").map((s) => Number(s.trim()));
  if (values.some((v) => !Number.isFinite(v)))
    throw new UsageError(`--weights expects numbers separated by commas, got "${text}"`);
  if (values.length !== count) throw new UsageError(`--weights has ${values.length} value(s) for ${count} model(s)`);
  return values;
}

export function dataSpec(args: ParsedArgs): DataSpec {
  const path = stringOption(args, "data");
  if (path === undefined) throw new UsageError("--data <file> is required");
  const label = stringOption(args, "label");
  const scale = numberOption(args, "scale");
  const seed = numberOption(args, "seed");
  const test = stringOption(args, "test");
  const maxRows = wholeOption(args, "max-rows", 1, "a whole number of rows, 1 or more");
  return {
    path,
    ...(test !== undefined ? { test } : {}),
    ...(maxRows !== undefined ? { maxRows } : {}),
    ...(label !== undefined ? { label } : {}),
    ...(scale !== undefined ? { scale } : {}),
    ...(seed !== undefined ? { seed } : {}),
  };
}

export function backendOption(args: ParsedArgs): BackendName | undefined {
  return choiceOption(args, "backend", BACKEND_CHOICES);
}

/** What --out means (core/io/output-target.ts decides it). */
export const OUT_DESCRIPTION =
  "Where to write: a model file with the inputs' extension (x.json, .keras, .h5, .safetensors, NAME.safetensors.index.json; " +
  "PyTorch inputs: .safetensors, or .pt/.pth for a state dict), or a folder (existing, or a path without extension) that gets model.json/model.keras/... and the recipe beside it.";

/** The option of commands that can write their JSON report to a file. */
export const reportOption: OptionSpec = {
  type: "string",
  valueName: "<file.json>",
  description: "Also write the JSON report to this file (refused when it is an input, the data, or the output).",
};

/** Prints the report as text or JSON, and writes it to --report when asked (checked before the work: guardReport). */
export async function printReport(args: ParsedArgs, io: CliIO, report: unknown, text: string): Promise<void> {
  const reportPath = stringOption(args, "report");
  if (reportPath !== undefined) await writeTextOutput(reportPath, `${JSON.stringify(report, null, 2)}\n`);
  io.stdout(flag(args, "json") ? `${JSON.stringify(report, null, 2)}\n` : `${text}\n`);
}
