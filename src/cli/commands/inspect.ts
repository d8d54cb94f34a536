/** `model-soup inspect <model>... [--json]`: each model's format, parameters and tensors, then the compatibility report. */
import { analyzeModels } from "../../core/architecture/analyze.js";
import { inspectExitCode, inspectJson } from "../../core/architecture/report.js";
import { UsageError } from "../../core/errors.js";
import { escapeControl } from "../../core/io/display.js";
import { describeExpansions, resolveModelArguments } from "../../core/io/model-inputs.js";
import { flag } from "../args.js";
import type { Command } from "../command.js";
import { formatModel, formatReport } from "../text/analysis.js";

export const inspectCommand: Command = {
  name: "inspect",
  summary: "Show each model's format, parameter count and tensors, then which models can be merged together.",
  usage: "inspect <model|folder>... [--json]",
  options: {
    json: { type: "boolean", description: "Print one JSON document instead of text." },
  },
  async run(args, io) {
    if (args.positionals.length === 0) throw new UsageError("give at least one model file or folder");
    // Every model found is shown, of any architecture; arguments that cannot be used are reported with the rest.
    const resolved = await resolveModelArguments(args.positionals, { tolerant: true });
    for (const line of describeExpansions(resolved.expansions)) io.stderr(`${escapeControl(line)}\n`);
    const analysis = await analyzeModels(resolved.models);
    analysis.unreadable.push(...resolved.unreadable);
    for (const u of analysis.unreadable) io.stderr(`model-soup inspect: ${escapeControl(u.error)}\n`);
    if (flag(args, "json")) {
      io.stdout(JSON.stringify(inspectJson(analysis), null, 2) + "\n");
    } else {
      const sections = [...analysis.models.map(formatModel), formatReport(analysis)];
      io.stdout(sections.join("\n\n") + "\n");
    }
    return inspectExitCode(analysis);
  },
};
