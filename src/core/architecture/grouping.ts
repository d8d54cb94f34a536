/**
 * Groups models by fingerprint. Each group's first model is its reference: every other member is compatible
 * with it (same tensor names, shapes, dtypes) or compatible by structure (with the mapping from the member's
 * tensor names to the reference's). Groups that differ get the reason, pair by pair.
 */
import type { ModelManifest } from "../model.js";
import { compareModels, type CompatibilityStatus, type NamePair } from "./compatibility.js";
import type { Difference } from "./difference.js";
import { fingerprintModel, type FingerprintedModel } from "./fingerprint.js";
import { shortLabels } from "./labels.js";

export interface GroupMember {
  path: string;
  /** Relative to the group's first model (which is "compatible" with itself). */
  status: CompatibilityStatus;
  /** For "compatible-by-structure": this model's tensor names -> the group's first model's names. */
  mapping?: NamePair[];
}

export interface ModelGroup {
  /** "g1", "g2", ... in the order the groups' first models were given. */
  id: string;
  /** The fingerprint key shared by the group (the reference's, when a member joined by name across kinds). */
  fingerprint: string;
  /** Paths, the reference first. */
  models: string[];
  /** "compatible" when every member has the reference's tensor names, else "compatible-by-structure". */
  status: CompatibilityStatus;
  members: GroupMember[];
}

export interface IncompatiblePair {
  a: string;
  b: string;
  groupA: string;
  groupB: string;
  reason: string;
  difference: Difference;
}

export interface Grouping {
  groups: ModelGroup[];
  /** For each model given, in the order given: its group's id and its membership. */
  placements: (GroupMember & { group: string })[];
  /** Reasons between groups, compared through their first models (see `pairsToReport`). */
  incompatible: IncompatiblePair[];
}

interface WorkingGroup {
  reference: FingerprintedModel;
  referenceIndex: number;
  members: (GroupMember & { index: number })[];
}

/** Up to this many group pairs, every pair of groups is explained; beyond it, each group against the largest. */
const MAX_ALL_PAIRS = 300;

function pairsToReport(groups: WorkingGroup[]): [number, number][] {
  const pairs: [number, number][] = [];
  if ((groups.length * (groups.length - 1)) / 2 <= MAX_ALL_PAIRS) {
    for (let i = 0; i < groups.length; i++) for (let j = i + 1; j < groups.length; j++) pairs.push([i, j]);
    return pairs;
  }
  let largest = 0;
  groups.forEach((g, i) => {
    if (g.members.length > groups[largest]!.members.length) largest = i;
  });
  for (let i = 0; i < groups.length; i++) if (i !== largest) pairs.push(i < largest ? [i, largest] : [largest, i]);
  return pairs;
}

/** Groups fingerprinted models; see groupManifests. */
export function groupFingerprinted(models: readonly FingerprintedModel[]): Grouping {
  const labels = shortLabels(models.map((m) => m.manifest.path));
  const groups: WorkingGroup[] = [];
  const byKey = new Map<string, WorkingGroup>();

  const join = (group: WorkingGroup, model: FingerprintedModel, index: number): boolean => {
    const comparison = compareModels(model, group.reference, { a: labels[index]!, b: labels[group.referenceIndex]! });
    if (comparison.status === "incompatible") return false;
    group.members.push({
      index,
      path: model.manifest.path,
      status: comparison.status,
      ...(comparison.status === "compatible-by-structure" ? { mapping: comparison.mapping } : {}),
    });
    return true;
  };

  models.forEach((model, index) => {
    const sameKey = byKey.get(model.fingerprint.key);
    if (sameKey && join(sameKey, model, index)) return;
    // A file without an architecture can still match one with an architecture by tensor names.
    const otherKind = groups.find(
      (g) => g.reference.fingerprint.kind !== model.fingerprint.kind && join(g, model, index),
    );
    if (otherKind) return;
    const group: WorkingGroup = {
      reference: model,
      referenceIndex: index,
      members: [{ index, path: model.manifest.path, status: "compatible" }],
    };
    groups.push(group);
    if (!byKey.has(model.fingerprint.key)) byKey.set(model.fingerprint.key, group);
  });

  const incompatible: IncompatiblePair[] = [];
  for (const [i, j] of pairsToReport(groups)) {
    const gi = groups[i]!;
    const gj = groups[j]!;
    const comparison = compareModels(gi.reference, gj.reference, {
      a: labels[gi.referenceIndex]!,
      b: labels[gj.referenceIndex]!,
    });
    if (comparison.status !== "incompatible") continue;
    incompatible.push({
      a: gi.reference.manifest.path,
      b: gj.reference.manifest.path,
      groupA: `g${i + 1}`,
      groupB: `g${j + 1}`,
      reason: comparison.reason,
      difference: comparison.difference,
    });
  }

  const placements: (GroupMember & { group: string })[] = new Array(models.length);
  groups.forEach((g, i) => {
    for (const { index, ...member } of g.members) placements[index] = { group: `g${i + 1}`, ...member };
  });

  return {
    placements,
    groups: groups.map((g, i) => ({
      id: `g${i + 1}`,
      fingerprint: g.reference.fingerprint.key,
      models: g.members.map((m) => m.path),
      status: g.members.some((m) => m.status === "compatible-by-structure") ? "compatible-by-structure" : "compatible",
      members: g.members.map(({ index: _index, ...member }) => member),
    })),
    incompatible,
  };
}

/** Groups any set of manifests by fingerprint, in the order given. */
export function groupManifests(manifests: readonly ModelManifest[]): Grouping {
  return groupFingerprinted(manifests.map(fingerprintModel));
}
