/**
 * Can these models be merged, and how: the one answer the CLI, the Model Explorer, the commands and the merge
 * panel give, decided from an Analysis.
 */
import { basename } from "node:path";
import type { Analysis, UnreadableModel } from "./analyze.js";
import type { CompatibilityStatus } from "./compatibility.js";
import type { IncompatiblePair, ModelGroup } from "./grouping.js";

/** A merge takes at least this many ingredients. */
export const MIN_INGREDIENTS = 2;

export interface MergeVerdict {
  /** Every file read, at least MIN_INGREDIENTS models, all of one architecture. */
  mergeable: boolean;
  /** How the readable models relate: one architecture, several, or none readable. */
  architectures: "one" | "several" | "none";
  /** With one architecture: whether every model has the same tensor names, or some are matched by structure. */
  how?: CompatibilityStatus;
  /** Readable models. */
  models: number;
  groups: number;
  /** With several architectures: the first pair that differs, with the reason. */
  pair?: IncompatiblePair;
  unreadable: readonly UnreadableModel[];
}

export function mergeVerdict(analysis: Analysis): MergeVerdict {
  const models = analysis.models.length;
  const groups = analysis.groups.length;
  const common = { models, groups, unreadable: analysis.unreadable };
  if (groups === 0) return { mergeable: false, architectures: "none", ...common };
  if (groups > 1) {
    const pair = analysis.incompatible[0];
    return { mergeable: false, architectures: "several", ...common, ...(pair ? { pair } : {}) };
  }
  const mergeable = analysis.unreadable.length === 0 && models >= MIN_INGREDIENTS;
  return { mergeable, architectures: "one", how: analysis.groups[0]!.status, ...common };
}

/** The groups a merge can take whole: those of at least MIN_INGREDIENTS models. */
export function mergeableGroups(analysis: Analysis): ModelGroup[] {
  return analysis.groups.filter((g) => g.models.length >= MIN_INGREDIENTS);
}

/** A compatibility status in words. */
export function statusText(status: CompatibilityStatus): string {
  return status === "compatible-by-structure" ? "compatible by structure" : status;
}

/**
 * The verdict as one sentence for the editor: why the set cannot be merged (an unreadable file first, then
 * differing architectures, then too few models), or how its ingredients match. `label` names a model.
 */
export function verdictSentence(verdict: MergeVerdict, label: (path: string) => string = basename): string {
  if (verdict.unreadable.length > 0) return `Cannot read: ${verdict.unreadable.map((u) => u.error).join("; ")}`;
  if (verdict.architectures === "several") {
    const pair = verdict.pair;
    return `These models do not share one architecture${pair ? `: ${label(pair.a)} vs ${label(pair.b)}: ${pair.reason}` : ""}.`;
  }
  if (!verdict.mergeable) return `Choose at least ${MIN_INGREDIENTS} models of one architecture to merge.`;
  return verdict.how === "compatible"
    ? "All ingredients share one architecture with the same tensor names."
    : "All ingredients share one architecture; some name their tensors differently and are matched by structure.";
}
