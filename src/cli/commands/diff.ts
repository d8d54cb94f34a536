/** `model-soup diff A B`: two files of one architecture side by side, tensor by tensor (no TensorFlow.js needed). */
import { UsageError } from "../../core/errors.js";
import { flag } from "../args.js";
import type { Command } from "../command.js";
import { runInProcess } from "../in-process.js";
import { compareFilesJob } from "../../core/diff/compare-files.js";
import { formatModelComparison } from "../text/comparison.js";
import { numberOption } from "./options.js";

export const diffCommand: Command = {
  name: "diff",
  summary:
    "Compare two models of one architecture tensor by tensor: relative difference, cosine, largest absolute difference.",
  usage: "diff <model A> <model B> [--bins N] [--json]",
  options: {
    bins: {
      type: "string",
      valueName: "<N>",
      description: "Histogram bins per tensor in the JSON output, shared by both files (default 24).",
    },
    json: { type: "boolean", description: "Print the comparison as JSON, with both files' histograms per tensor." },
  },
  async run(args, io) {
    if (args.positionals.length !== 2)
      throw new UsageError(`give two model files or model folders to compare, not ${args.positionals.length}`);
    const [a, b] = args.positionals as [string, string];
    const bins = numberOption(args, "bins");
    const comparison = await runInProcess(io, compareFilesJob, { a, b, ...(bins !== undefined ? { bins } : {}) });
    io.stdout(
      flag(args, "json") ? `${JSON.stringify(comparison, null, 2)}\n` : `${formatModelComparison(comparison)}\n`,
    );
    return 0;
  },
};
