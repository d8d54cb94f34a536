/** The compatibility analysis in plain words, for a terminal. */
import type { Analysis, AnalyzedModel } from "../../core/architecture/analyze.js";
import { shortLabels } from "../../core/architecture/labels.js";
import { mergeVerdict, statusText } from "../../core/architecture/verdict.js";
import type { ModelGroup } from "../../core/architecture/grouping.js";
import { modelFormatLabel } from "../../core/formats/registry.js";
import { formatShape } from "../../core/tensor.js";
import { formatCount, formatTable } from "./table.js";

/** A Hugging Face folder's model: its config and what runs it. */
function huggingFaceLine(model: AnalyzedModel): string[] {
  const { huggingFaceConfig: config, huggingFaceArchitecture: architecture } = model.manifest.metadata;
  if (typeof config !== "string") return [];
  return [
    `  Hugging Face folder: ${config} (${String(architecture)}); learning and evaluating build it with transformers, which its Python must import`,
  ];
}

/** One model: path, format, parameter count, group, warnings, and its tensors as a table. */
export function formatModel(model: AnalyzedModel): string {
  const head = [
    model.path,
    `  format: ${modelFormatLabel(model.manifest)}   parameters: ${formatCount(model.parameters)}   tensors: ${model.tensors.length}   group: ${model.group}`,
    ...huggingFaceLine(model),
    ...model.warnings.map((w) => `  warning: ${w}`),
  ];
  const rows = model.tensors.map((t) => [t.name, formatShape(t.shape), t.dtype]);
  return [...head, "", formatTable(["tensor", "shape", "dtype"], rows, "  ")].join("\n");
}

function mappingLines(mapping: readonly { from: string; to: string }[], indent: string): string[] {
  const width = Math.max(0, ...mapping.map((p) => p.from.length));
  return mapping.map((p) => `${indent}${p.from.padEnd(width)} -> ${p.to}`);
}

function formatGroup(group: ModelGroup, label: (path: string) => string): string {
  const lines = [
    `  ${group.id}: ${group.models.length} model${group.models.length === 1 ? "" : "s"}, ${statusText(group.status)}`,
  ];
  group.members.forEach((member, i) => {
    if (i === 0) {
      lines.push(`    ${label(member.path)}${group.members.length > 1 ? "  (reference)" : ""}`);
    } else if (member.status === "compatible") {
      lines.push(`    ${label(member.path)}  compatible: same tensor names, shapes and dtypes`);
    } else {
      lines.push(
        `    ${label(member.path)}  compatible by structure: same layers, wiring, shapes and dtypes, other names;`,
        `      matched by topology, its tensors map to the reference's as:`,
        ...mappingLines(member.mapping ?? [], "        "),
      );
    }
  });
  return lines.join("\n");
}

/** The report after the models: groups with statuses and mappings, incompatibilities, unreadable files, verdict. */
export function formatReport(analysis: Analysis): string {
  const paths = [...analysis.models.map((m) => m.path), ...analysis.unreadable.map((u) => u.path)];
  const labels = new Map(paths.map((p, i) => [p, shortLabels(paths)[i]!]));
  const label = (path: string) => labels.get(path) ?? path;
  const out: string[] = ["Compatibility"];
  if (analysis.groups.length === 0) out.push("  (no readable model)");
  for (const group of analysis.groups) out.push(formatGroup(group, label));
  if (analysis.incompatible.length > 0) {
    out.push("", "Incompatible");
    for (const pair of analysis.incompatible) {
      out.push(`  ${label(pair.a)} (${pair.groupA}) vs ${label(pair.b)} (${pair.groupB}):`, `    ${pair.reason}`);
    }
  }
  if (analysis.unreadable.length > 0) {
    out.push("", "Unreadable");
    for (const u of analysis.unreadable) out.push(`  ${u.error}`);
  }
  out.push("", verdict(analysis));
  return out.join("\n");
}

function verdict(analysis: Analysis): string {
  const { architectures, how, models: n, groups, unreadable } = mergeVerdict(analysis);
  const tail =
    unreadable.length > 0 ? `; ${unreadable.length} file${unreadable.length === 1 ? "" : "s"} could not be read` : "";
  if (architectures === "none") return `Result: no model could be read${tail}.`;
  if (architectures === "one") {
    const by = how === "compatible-by-structure" ? " (matched by structure where names differ)" : "";
    return `Result: ${n === 1 ? "1 model" : `all ${n} models are mutually compatible`}${by}${tail}.`;
  }
  return `Result: the ${n} models fall into ${groups} incompatible groups; only models of one group can be merged${tail}.`;
}
