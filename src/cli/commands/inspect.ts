/** `model-soup inspect <model>... [--json]`: each model's format, parameters and tensors, then the compatibility report. */
import type { Analysis } from "../../core/architecture/analysis.js";
import { analyzeModels } from "../../core/architecture/analyze.js";
import { UsageError } from "../../core/errors.js";
import { flag } from "../args.js";
import type { Command } from "../command.js";
import { formatModel, formatReport } from "../text/analysis.js";

/** 0: every model readable and all in one group; 1: more than one group; 2: some file unreadable. */
export function inspectExitCode(analysis: Analysis): number {
  if (analysis.unreadable.length > 0) return 2;
  return analysis.groups.length > 1 ? 1 : 0;
}

/** The --json document: plain data, the manifests' architectures left out. */
export function inspectJson(analysis: Analysis): unknown {
  return {
    compatible: inspectExitCode(analysis) === 0,
    models: analysis.models.map((m) => ({
      path: m.path,
      format: m.format,
      parameters: m.parameters,
      tensors: m.tensors.map((t) => ({ name: t.name, shape: t.shape, dtype: t.dtype })),
      group: m.group,
      status: m.status,
      ...(m.mapping ? { mapping: m.mapping } : {}),
      warnings: m.warnings,
    })),
    groups: analysis.groups.map((g) => ({
      id: g.id,
      models: g.models,
      status: g.status,
      fingerprint: g.fingerprint,
      mappings: g.members.filter((m) => m.mapping).map((m) => ({ model: m.path, to: g.models[0], names: m.mapping })),
    })),
    incompatible: analysis.incompatible.map((p) => ({
      a: p.a,
      b: p.b,
      groupA: p.groupA,
      groupB: p.groupB,
      reason: p.reason,
      difference: p.difference,
    })),
    unreadable: analysis.unreadable,
  };
}

export const inspectCommand: Command = {
  name: "inspect",
  summary: "Show each model's format, parameter count and tensors, then which models can be merged together.",
  usage: "inspect <model>... [--json]",
  options: {
    json: { type: "boolean", description: "Print one JSON document instead of text." },
  },
  async run(args, io) {
    if (args.positionals.length === 0) throw new UsageError("give at least one model file");
    const analysis = await analyzeModels(args.positionals);
    for (const u of analysis.unreadable) io.stderr(`model-soup inspect: ${u.error}\n`);
    if (flag(args, "json")) {
      io.stdout(JSON.stringify(inspectJson(analysis), null, 2) + "\n");
    } else {
      const sections = [...analysis.models.map(formatModel), formatReport(analysis)];
      io.stdout(sections.join("\n\n") + "\n");
    }
    return inspectExitCode(analysis);
  },
};
