/**
 * The Model Explorer's content as plain data, computed from a core Analysis: groups named by their
 * architecture first (their ingredients, then the merges Model Soup wrote for them, each expanding to its
 * ingredients), then models that have no compatible partner (with what makes them unique), then files that
 * cannot be read (with the reader's error). Each model is labelled by the shortest path suffix that tells it
 * apart. Kept free of vscode so it is tested on its own.
 */
import {
  MIN_INGREDIENTS,
  shortLabels,
  statusText,
  type Analysis,
  type AnalyzedModel,
} from "../core/architecture/index.js";
import { formatLabel } from "../core/formats/registry.js";
import type { DType } from "../core/tensor.js";
import { elementCount } from "../core/tensor.js";
import { architectureName } from "./architecture-name.js";
import type { MergeInfo } from "./merges.js";

export interface ModelNode {
  kind: "model";
  path: string;
  label: string;
  description: string;
  tooltip: string;
  readable: boolean;
  /** Set for a model that cannot be merged with any other model listed. */
  problem?: string;
  /** Set for a merge Model Soup wrote (found by its recipe): its ingredients are its children. */
  merge?: { recipe: string; origin: string; method: string; ingredients: ModelNode[] };
  /** An entry under a merge that stands for one of its ingredients: the merge's path. */
  referenceOf?: string;
}

/** The merges of a group, listed apart from its ingredients. */
export interface MergesNode {
  kind: "merges";
  id: string;
  label: string;
  description: string;
  children: ModelNode[];
}

export interface GroupNode {
  kind: "group";
  id: string;
  /** The tree's label: the architecture ("Dense 64-64-32-10"), or what the models have in common. */
  label: string;
  /** What the sidebar shows beside the label, short enough to be whole there: "7 × TF.js" (7 models in TF.js). */
  description: string;
  /** The group's name where it stands alone (the viewer's "In the group …"): "Dense 64-64-32-10 · TF.js · 7 models". */
  name: string;
  tooltip: string;
  mergeable: boolean;
  /** The group's ingredients: the models a merge of this group takes (never a merge). */
  children: ModelNode[];
  /** Merges of this group's models that Model Soup wrote. */
  merges: ModelNode[];
  /** The architecture's short name ("Dense 64-64-32-10"). */
  architecture?: string;
}

export type TreeNode = GroupNode | ModelNode | MergesNode;

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

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

export function buildTree(
  analysis: Analysis,
  roots: readonly string[],
  merges: ReadonlyMap<string, MergeInfo> = new Map(),
): GroupNode[] {
  const modelByPath = new Map(analysis.models.map((m) => [m.path, m]));
  const allPaths = [...analysis.models.map((m) => m.path), ...analysis.unreadable.map((u) => u.path)];
  const short = shortLabels(allPaths);
  const shortLabel = new Map(allPaths.map((p, i) => [p, short[i]!]));
  const labelOf = (path: string) => shortLabel.get(path) ?? relativeLabel(path, roots);
  const modelNode = (m: AnalyzedModel, problem?: string): ModelNode => {
    const merge = merges.get(m.path);
    const summary = `${formatLabel(m.format, true)} · ${formatCount(m.parameters)} params · ${mainDtype(m)}`;
    const lines = [
      m.path,
      `Format: ${formatLabel(m.format, true)}`,
      `Parameters: ${m.parameters.toLocaleString("en-US")} in ${m.tensors.length} tensors`,
      `Dtype: ${mainDtype(m)}`,
    ];
    if (merge)
      lines.push(`A ${merge.origin} merge of ${plural(merge.ingredients.length, "model")} (recipe: ${merge.recipe})`);
    if (m.status === "compatible-by-structure")
      lines.push("Matched to its group by structure (its tensor names differ)");
    if (problem) lines.push(`Cannot be merged: ${problem}`);
    for (const w of m.warnings) lines.push(`Note: ${w}`);
    return {
      kind: "model",
      path: m.path,
      label: labelOf(m.path),
      // The meaning first: the sidebar cuts the end of a description.
      description: problem
        ? `${problem} · ${summary}`
        : merge
          ? `${merge.origin} merge of ${merge.ingredients.length} · ${summary}`
          : summary,
      tooltip: lines.join("\n"),
      readable: true,
      ...(problem ? { problem } : {}),
      ...(merge
        ? {
            merge: {
              recipe: merge.recipe,
              origin: merge.origin,
              method: merge.method,
              ingredients: merge.ingredients.map((path) => ({
                kind: "model" as const,
                path,
                label: shortLabel.get(path) ?? relativeLabel(path, roots),
                description: "ingredient",
                tooltip: path,
                readable: true,
                referenceOf: m.path,
              })),
            },
          }
        : {}),
    };
  };

  const groups: GroupNode[] = [];
  const alone: ModelNode[] = [];
  const names = new Map(analysis.models.map((m) => [m.path, architectureName(m.manifest)]));
  for (const group of analysis.groups) {
    const members = group.models.map((p) => modelByPath.get(p)).filter((m): m is AnalyzedModel => m !== undefined);
    const ingredients = members.filter((m) => !merges.has(m.path));
    const merged = members.filter((m) => merges.has(m.path));
    if (ingredients.length >= MIN_INGREDIENTS || merged.length > 0) {
      const first = members[0]!;
      const architecture = names.get(first.path)!;
      const formats = [...new Set(members.map((m) => formatLabel(m.format, true)))].join(", ");
      const count = plural(ingredients.length, "model");
      groups.push({
        kind: "group",
        id: group.id,
        label: architecture,
        // How many and in what format, short enough for the default sidebar ("5 models · Keras H5" is cut there);
        // its status, size and merges are in the tooltip (and the Merges node).
        description: `${ingredients.length} × ${formats}`,
        name: `${architecture} · ${formats} · ${count}`,
        tooltip: [
          `${count} of one architecture, ${architecture} (${statusText(group.status)}), in ${formats}`,
          `${first.parameters.toLocaleString("en-US")} parameters each${merged.length > 0 ? ` · ${plural(merged.length, "merge")}` : ""}`,
          ...ingredients.map(
            (m) => `• ${labelOf(m.path)}${m.status === "compatible-by-structure" ? " (by structure)" : ""}`,
          ),
          ...(merged.length > 0 ? ["Merges:", ...merged.map((m) => `• ${labelOf(m.path)}`)] : []),
        ].join("\n"),
        mergeable: ingredients.length >= MIN_INGREDIENTS,
        children: ingredients.map((m) => modelNode(m)),
        merges: merged.map((m) => modelNode(m)),
        architecture,
      });
    } else {
      for (const m of members) alone.push(modelNode(m, reasonAlone(analysis, m.path, group.id, names, labelOf)));
    }
  }
  if (alone.length > 0) {
    groups.push({
      kind: "group",
      id: "incompatible",
      label: "No compatible partner",
      description: plural(alone.length, "model"),
      name: "No compatible partner",
      tooltip: "Each of these models has an architecture no other model in the workspace shares.",
      mergeable: false,
      children: alone,
      merges: [],
    });
  }
  if (analysis.unreadable.length > 0) {
    groups.push({
      kind: "group",
      id: "unreadable",
      label: "Unreadable",
      description: plural(analysis.unreadable.length, "file"),
      name: "Unreadable",
      tooltip: "Files that look like models but cannot be read.",
      mergeable: false,
      children: analysis.unreadable.map((u) => ({
        kind: "model" as const,
        path: u.path,
        label: labelOf(u.path),
        description: u.error,
        tooltip: `${u.path}\n${u.error}`,
        readable: false,
        problem: u.error,
      })),
      merges: [],
    });
  }
  return groups;
}

/** The node that lists a group's merges, when it has any. */
export function mergesNodeOf(group: GroupNode): MergesNode | undefined {
  if (group.merges.length === 0) return undefined;
  return {
    kind: "merges",
    id: `${group.id}:merges`,
    label: "Merges",
    description: plural(group.merges.length, "merge"),
    children: group.merges,
  };
}

/**
 * Why a model stands alone, by what makes it unique: when no other model has its layers, that it is the only
 * one of its architecture; when another model has the same layers, how it differs from that one (the core's
 * reason for the pair), since that is the model the user would expect it to merge with.
 */
function reasonAlone(
  analysis: Analysis,
  path: string,
  groupId: string,
  names: ReadonlyMap<string, string>,
  labelOf: (path: string) => string,
): string {
  const name = names.get(path)!;
  if (analysis.models.length === 1) return "no other model in the workspace to merge with";
  const sameLayers = analysis.models.filter((m) => m.path !== path && names.get(m.path) === name).map((m) => m.path);
  const pair = analysis.incompatible.find(
    (p) =>
      (p.groupA === groupId || p.groupB === groupId) &&
      sameLayers.includes(p.a === path || p.groupA === groupId ? p.b : p.a),
  );
  if (pair) {
    const other = pair.a === path || pair.groupA === groupId ? pair.b : pair.a;
    return `same layers (${name}) as ${labelOf(other)}, but ${pair.reason}`;
  }
  return `the only ${name} model in the workspace`;
}
