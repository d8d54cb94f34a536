/**
 * The Model Explorer's content as plain data, computed from a core Analysis: mergeable groups first (with
 * their status), then models that have no compatible partner (with why), then files that cannot be read
 * (with the reader's error). Kept free of vscode so it is tested on its own.
 */
import type { Analysis, AnalyzedModel } from "../core/architecture/index.js";
import type { DType } from "../core/tensor.js";
import { elementCount } from "../core/tensor.js";

export const FORMAT_LABELS: Record<string, string> = {
  "tfjs-layers": "TF.js",
  "keras-h5": "Keras H5",
  keras: "Keras",
  safetensors: "safetensors",
};

export interface ModelNode {
  kind: "model";
  path: string;
  label: string;
  description: string;
  tooltip: string;
  readable: boolean;
  /** Set for a model that cannot be merged with any other model listed. */
  problem?: string;
}

export interface GroupNode {
  kind: "group";
  id: string;
  label: string;
  description: string;
  tooltip: string;
  mergeable: boolean;
  children: ModelNode[];
}

export type TreeNode = GroupNode | ModelNode;

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}K`;
  return n.toLocaleString("en-US");
}

/** The dtype holding most of the model's values ("float32", or "float32+int64" style when mixed matters little). */
export function mainDtype(model: Pick<AnalyzedModel, "tensors">): string {
  const byDtype = new Map<DType, number>();
  for (const t of model.tensors) byDtype.set(t.dtype, (byDtype.get(t.dtype) ?? 0) + elementCount(t.shape));
  const sorted = [...byDtype.entries()].sort((a, b) => b[1] - a[1]);
  if (sorted.length === 0) return "no tensors";
  return sorted.length === 1 ? sorted[0]![0] : `${sorted[0]![0]} (+${sorted.length - 1} more)`;
}

function relativeLabel(path: string, roots: readonly string[]): string {
  for (const root of roots) {
    const prefix = root.endsWith("/") ? root : root + "/";
    if (path.startsWith(prefix)) return path.slice(prefix.length);
  }
  return path;
}

function statusText(status: string): string {
  return status === "compatible-by-structure" ? "compatible by structure" : status;
}

export function buildTree(analysis: Analysis, roots: readonly string[]): GroupNode[] {
  const modelByPath = new Map(analysis.models.map((m) => [m.path, m]));
  const modelNode = (m: AnalyzedModel, problem?: string): ModelNode => {
    const summary = `${FORMAT_LABELS[m.format] ?? m.format} · ${formatCount(m.parameters)} params · ${mainDtype(m)}`;
    const lines = [
      m.path,
      `Format: ${FORMAT_LABELS[m.format] ?? m.format}`,
      `Parameters: ${m.parameters.toLocaleString("en-US")} in ${m.tensors.length} tensors`,
      `Dtype: ${mainDtype(m)}`,
    ];
    if (m.status === "compatible-by-structure") lines.push("Matched to its group by structure (its tensor names differ)");
    if (problem) lines.push(`Cannot be merged: ${problem}`);
    for (const w of m.warnings) lines.push(`Note: ${w}`);
    return {
      kind: "model",
      path: m.path,
      label: relativeLabel(m.path, roots),
      description: problem ? `${summary} — ${problem}` : summary,
      tooltip: lines.join("\n"),
      readable: true,
      ...(problem ? { problem } : {}),
    };
  };

  const groups: GroupNode[] = [];
  const alone: ModelNode[] = [];
  let index = 0;
  for (const group of analysis.groups) {
    const members = group.models.map((p) => modelByPath.get(p)).filter((m): m is AnalyzedModel => m !== undefined);
    if (members.length >= 2) {
      index++;
      const first = members[0]!;
      const formats = [...new Set(members.map((m) => FORMAT_LABELS[m.format] ?? m.format))].join(", ");
      groups.push({
        kind: "group",
        id: group.id,
        label: `Group ${index}: ${members.length} models`,
        description: `${statusText(group.status)} · ${formats} · ${formatCount(first.parameters)} params`,
        tooltip: [
          `${members.length} models of one architecture (${statusText(group.status)})`,
          `${first.parameters.toLocaleString("en-US")} parameters each`,
          ...members.map((m) => `• ${relativeLabel(m.path, roots)}${m.status === "compatible-by-structure" ? " (by structure)" : ""}`),
        ].join("\n"),
        mergeable: true,
        children: members.map((m) => modelNode(m)),
      });
    } else {
      for (const m of members) alone.push(modelNode(m, reasonAlone(analysis, m.path, group.id, roots)));
    }
  }
  if (alone.length > 0) {
    groups.push({
      kind: "group",
      id: "incompatible",
      label: "No compatible partner",
      description: `${alone.length} model${alone.length === 1 ? "" : "s"}`,
      tooltip: "Each of these models has an architecture no other model in the workspace shares.",
      mergeable: false,
      children: alone,
    });
  }
  if (analysis.unreadable.length > 0) {
    groups.push({
      kind: "group",
      id: "unreadable",
      label: "Unreadable",
      description: `${analysis.unreadable.length} file${analysis.unreadable.length === 1 ? "" : "s"}`,
      tooltip: "Files that look like models but cannot be read.",
      mergeable: false,
      children: analysis.unreadable.map((u) => ({
        kind: "model" as const,
        path: u.path,
        label: relativeLabel(u.path, roots),
        description: u.error,
        tooltip: `${u.path}\n${u.error}`,
        readable: false,
        problem: u.error,
      })),
    });
  }
  return groups;
}

/**
 * Why a model stands alone: its difference from the most similar model of another group (the one sharing
 * the most tensor names, then the same format), as the core reported it for that pair.
 */
function reasonAlone(analysis: Analysis, path: string, groupId: string, roots: readonly string[]): string {
  const self = analysis.models.find((m) => m.path === path);
  const names = new Set(self?.tensors.map((t) => t.name));
  const pairs = analysis.incompatible.filter((p) => p.groupA === groupId || p.groupB === groupId);
  const score = (other: string) => {
    const model = analysis.models.find((m) => m.path === other);
    if (!model) return 0;
    const shared = model.tensors.filter((t) => names.has(t.name)).length;
    return shared * 2 + (model.format === self?.format ? 1 : 0);
  };
  const otherOf = (p: (typeof pairs)[number]) => (p.a === path || p.groupA === groupId ? p.b : p.a);
  const pair = [...pairs].sort((x, y) => score(otherOf(y)) - score(otherOf(x)))[0];
  if (!pair) return "no other model in the workspace to merge with";
  return `differs from ${relativeLabel(otherOf(pair), roots)}: ${pair.reason}`;
}
