/**
 * The one entry point the CLI, the worker and the VS Code tree use: read the manifests of some model files
 * (no tensor data) and group them, keeping unreadable files with their error.
 */
import { ModelFileError } from "../errors.js";
import { readManifest as readManifestFromRegistry } from "../formats/registry.js";
import type { ModelManifest } from "../model.js";
import { analyzeManifests, type Analysis, type UnreadableModel } from "./analysis.js";

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
