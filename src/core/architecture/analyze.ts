/**
 * The compatibility analysis of a set of models, as the CLI, the worker and the VS Code tree show it: read the
 * manifests of some model files (no tensor data) and group them, keeping unreadable files with their error.
 */
import { ModelFileError } from "../errors.js";
import { readManifest as readManifestFromRegistry } from "../formats/registry.js";
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

export interface AnalyzeOptions {
  /** How many files are read at once. */
  concurrency?: number;
}

function describeError(path: string, error: unknown): string {
  if (error instanceof ModelFileError) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  return message.includes(path) ? message : `${path}: ${message}`;
}

/** Reads the manifests of `paths` (in order, a few at a time) and groups them; failures become `unreadable`. */
export async function analyzeModels(paths: readonly string[], options: AnalyzeOptions = {}): Promise<Analysis> {
  const results: (ModelManifest | UnreadableModel)[] = new Array(paths.length);
  let cursor = 0;
  const worker = async (): Promise<void> => {
    while (cursor < paths.length) {
      const i = cursor++;
      const path = paths[i]!;
      try {
        results[i] = await readManifestFromRegistry(path);
      } catch (error) {
        results[i] = { path, error: describeError(path, error) };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 8, paths.length)) }, worker));
  const manifests = results.filter((r): r is ModelManifest => "format" in r);
  const unreadable = results.filter((r): r is UnreadableModel => "error" in r);
  return analyzeManifests(manifests, unreadable);
}
