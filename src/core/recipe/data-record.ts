/** The data a soup was made on, as its recipe records it: one definition for every job that writes a recipe. */
import { resolve } from "node:path";
import type { DataSpec, RecipeData } from "../../protocol/worker.js";
import { sha256File } from "./hash.js";

/**
 * The data file and its SHA-256, how it was read (label, scale, input key), the split (seed, fractions), the
 * user's own test rows and the loss. Paths are absolute: saveSoup stores them relative to the recipe's folder.
 */
export async function dataRecord(
  spec: DataSpec,
  split: {
    readonly seed: number;
    readonly fractions: { readonly learn: number; readonly validation: number; readonly test: number };
  },
  loss?: string,
): Promise<RecipeData> {
  return {
    path: resolve(spec.path),
    sha256: await sha256File(spec.path),
    ...(spec.label !== undefined ? { label: spec.label } : {}),
    ...(spec.scale !== undefined ? { scale: spec.scale } : {}),
    ...(spec.inputKey !== undefined ? { inputKey: spec.inputKey } : {}),
    ...(spec.test !== undefined ? { test: { path: resolve(spec.test), sha256: await sha256File(spec.test) } } : {}),
    seed: split.seed,
    fractions: { ...split.fractions },
    ...(spec.maxRows !== undefined ? { maxRows: spec.maxRows } : {}),
    ...(loss !== undefined ? { loss } : {}),
  };
}
