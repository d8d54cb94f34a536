/**
 * Whether two models can be merged tensor for tensor, and how their tensors line up.
 *
 * Weights are matched by name first, never by their position in a manifest (the TF.js converter lists them
 * alphabetically, HDF5 files by group order). Only when the names differ and both files carry an architecture
 * do we fall back to matching by topology: layer k's j-th weight in one model with layer k's j-th weight in the
 * other, which is sound because the fingerprints (layer classes, configs, wiring, shapes, dtypes) are equal;
 * the result says so ("compatible-by-structure") and gives the name mapping. Files without an architecture
 * (safetensors, weights-only HDF5) can only be matched by name.
 *
 * Models of different formats (a Keras .h5 and its TF.js copy) are compared the same way: the format is not
 * part of the fingerprint, so they are compatible when names, shapes and dtypes agree and compatible by
 * structure when only the names differ (the TF.js converter drops Keras' ":0" suffixes). A merge of such a
 * group writes the format of its template, reading the other ingredients through the name mapping.
 */
import { UsageError } from "../errors.js";
import type { ModelManifest } from "../model.js";
import { firstStructuralDifference, firstTensorDifference, type Difference, type Labels } from "./difference.js";
import { fingerprintModel, type FingerprintedModel } from "./fingerprint.js";

export type CompatibilityStatus = "compatible" | "compatible-by-structure";

/** A tensor of one model and the tensor of another model it corresponds to. */
export interface NamePair {
  from: string;
  to: string;
}

export type Comparison =
  | { status: "compatible" }
  | { status: "compatible-by-structure"; mapping: NamePair[] }
  | { status: "incompatible"; reason: string; difference: Difference };

function sameNames(a: FingerprintedModel, b: FingerprintedModel): boolean {
  if (a.manifest.tensors.length !== b.manifest.tensors.length) return false;
  const names = new Set(b.manifest.tensors.map((t) => t.name));
  return a.manifest.tensors.every((t) => names.has(t.name));
}

/** The share of the smaller model's tensor names that the other model also has. */
function nameOverlap(a: FingerprintedModel, b: FingerprintedModel): number {
  const names = new Set(b.manifest.tensors.map((t) => t.name));
  const shared = a.manifest.tensors.filter((t) => names.has(t.name)).length;
  const smaller = Math.min(a.manifest.tensors.length, b.manifest.tensors.length);
  return smaller === 0 ? 0 : shared / smaller;
}

function incompatible(difference: Difference, note?: string): Comparison {
  return { status: "incompatible", reason: note ? `${difference.message} (${note})` : difference.message, difference };
}

/** Tensor names of `a` paired by position in the (equal) fingerprints with those of `b`. */
function mappingByStructure(a: FingerprintedModel, b: FingerprintedModel): NamePair[] {
  return a.order.map((p, i) => ({ from: p.name, to: b.order[i]!.name }));
}

/**
 * Compares two fingerprinted models. `labels` name them in the reason (default: their paths). A mapping goes
 * from a's tensor names to b's.
 */
export function compareModels(a: FingerprintedModel, b: FingerprintedModel, labels?: Labels): Comparison {
  const names: Labels = labels ?? { a: a.manifest.path, b: b.manifest.path };
  const bothArchitectures = a.fingerprint.kind === "architecture" && b.fingerprint.kind === "architecture";

  if (sameNames(a, b)) {
    const tensor = firstTensorDifference(a, b, names);
    const sameStructure = a.fingerprint.key === b.fingerprint.key;
    const structure = bothArchitectures && !sameStructure ? firstStructuralDifference(a, b, names) : undefined;
    if (tensor) {
      // Name the layer too when its config is what differs (Dense units 3 vs 2 behind a [16, 3] vs [16, 2] kernel).
      return incompatible(
        structure && structure.kind === "layer-config"
          ? { ...tensor, message: `${tensor.message}; ${structure.message}` }
          : tensor,
      );
    }
    if (structure) return incompatible(structure);
    return { status: "compatible" };
  }

  if (bothArchitectures) {
    if (a.fingerprint.key === b.fingerprint.key)
      return { status: "compatible-by-structure", mapping: mappingByStructure(a, b) };
    if (nameOverlap(a, b) >= 0.5) {
      const tensor = firstTensorDifference(a, b, names);
      if (tensor) return incompatible(tensor);
    }
    const structure = firstStructuralDifference(a, b, names);
    if (structure) return incompatible(structure, "tensor names differ, so layers were compared by position");
    // Equal structure but different keys cannot happen; keep a truthful answer if it ever does.
    return incompatible({ kind: "layer-count", message: "the architectures differ" });
  }

  const tensor = firstTensorDifference(a, b, names)!;
  const without = [a, b].filter((m) => m.fingerprint.kind === "tensors").map((m) => (m === a ? names.a : names.b));
  return incompatible(
    tensor,
    `${without.join(" and ")} ${without.length > 1 ? "have" : "has"} no architecture, so tensors can only be matched by name`,
  );
}

/** Compares two manifests; see compareModels. */
export function compareManifests(a: ModelManifest, b: ModelManifest, labels?: Labels): Comparison {
  return compareModels(fingerprintModel(a), fingerprintModel(b), labels);
}

/**
 * For each tensor of `a`, the name of the corresponding tensor of `b`: the identity when the names agree, the
 * topology-based mapping when only the names differ. Throws a UsageError with the reason when the models cannot
 * be merged.
 */
export function nameMapping(
  a: ModelManifest | FingerprintedModel,
  b: ModelManifest | FingerprintedModel,
): Map<string, string> {
  const fa = "fingerprint" in a ? a : fingerprintModel(a);
  const fb = "fingerprint" in b ? b : fingerprintModel(b);
  const comparison = compareModels(fa, fb);
  switch (comparison.status) {
    case "compatible":
      return new Map(fa.manifest.tensors.map((t) => [t.name, t.name]));
    case "compatible-by-structure":
      return new Map(comparison.mapping.map((p) => [p.from, p.to]));
    case "incompatible":
      throw new UsageError(`${fa.manifest.path} and ${fb.manifest.path} cannot be merged: ${comparison.reason}`);
  }
}
