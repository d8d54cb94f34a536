/** The compatibility report as plain data: what `model-soup inspect --json` prints and the worker answers. */
import type { InspectReport } from "../../protocol/worker.js";
import type { Analysis } from "./analyze.js";
import { mergeVerdict } from "./verdict.js";

/** 0: every model readable and all in one group; 1: more than one group; 2: some file unreadable. */
export function inspectExitCode(analysis: Analysis): number {
  const verdict = mergeVerdict(analysis);
  if (verdict.unreadable.length > 0) return 2;
  return verdict.architectures === "several" ? 1 : 0;
}

/** The --json document: plain data, the manifests' architectures left out. */
export function inspectJson(analysis: Analysis): InspectReport {
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
