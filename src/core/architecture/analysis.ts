/** The compatibility analysis of a set of models, as the CLI, the worker and the VS Code tree show it. */
import type { FormatId, ModelManifest } from "../model.js";
import { elementCount, type TensorInfo } from "../tensor.js";
import type { CompatibilityStatus, NamePair } from "./compatibility.js";
import { groupManifests, type IncompatiblePair, type ModelGroup } from "./grouping.js";

export interface AnalyzedModel {
  path: string;
  format: FormatId;
  parameters: number;
  tensors: TensorInfo[];
  /** The id of the model's group. */
  group: string;
  /** Relative to the group's first model. */
  status: CompatibilityStatus;
  /** For "compatible-by-structure": this model's tensor names -> the group's first model's names. */
  mapping?: NamePair[];
  warnings: string[];
  manifest: ModelManifest;
}

export interface UnreadableModel {
  path: string;
  error: string;
}

export interface Analysis {
  models: AnalyzedModel[];
  groups: ModelGroup[];
  incompatible: IncompatiblePair[];
  unreadable: UnreadableModel[];
}

/** The number of values a model holds, all tensors counted. */
export function parameterCount(manifest: Pick<ModelManifest, "tensors">): number {
  return manifest.tensors.reduce((sum, t) => sum + elementCount(t.shape), 0);
}

/** Groups manifests already read (pure); `unreadable` is passed through. */
export function analyzeManifests(manifests: readonly ModelManifest[], unreadable: UnreadableModel[] = []): Analysis {
  const { groups, incompatible, placements } = groupManifests(manifests);
  const models = manifests.map((manifest, i): AnalyzedModel => {
    const { group, status, mapping } = placements[i]!;
    return {
      path: manifest.path,
      format: manifest.format,
      parameters: parameterCount(manifest),
      tensors: manifest.tensors,
      group,
      status,
      ...(mapping ? { mapping } : {}),
      warnings: manifest.warnings,
      manifest,
    };
  });
  return { models, groups, incompatible, unreadable };
}
