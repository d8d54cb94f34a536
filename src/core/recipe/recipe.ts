/**
 * The recipe saved beside every merged model: enough to recreate the same tensors from the same inputs
 * without any data (`model-soup apply`), and a record of how the coefficients were found.
 */
import { readFile, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { ModelFileError } from "../errors.js";
import { writeFilesAtomically } from "../io/atomic.js";
import type { MergeSpec } from "../merge/spec.js";
import type { FormatId } from "../model.js";
import { type FileHashes, sha256Files } from "./hash.js";
import { parseBoundedJson, requireRegularFile } from "../formats/limits.js";

export interface RecipeInput {
  /** Relative to the recipe's folder when the recipe is beside the output (portable), else absolute. */
  path: string;
  sha256: string;
}

export interface Recipe {
  kind: "model-soup-recipe";
  version: 1;
  tool: { name: "model-soup"; version: string };
  created: string;
  /** How the coefficients were found: "manual", "uniform", "learned", "greedy". */
  origin: string;
  /**
   * What `apply` re-runs: the method, its parameters and the final coefficients (a learned or greedy soup is a
   * linear merge with the coefficients found). Paths are the inputs' paths below.
   */
  merge: MergeSpec;
  /** One per ingredient of `merge`, in the same order, with the hash `apply` checks. */
  inputs: RecipeInput[];
  base?: RecipeInput;
  learning?: Record<string, unknown>;
  data?: { path: string; sha256: string; label?: string; seed?: number; fractions?: Record<string, number> };
  metrics?: unknown;
  backend?: string;
  /** Tensors whose values are given here rather than merged (re-estimated BatchNormalization statistics). */
  overrides?: Record<string, number[]>;
  output: { path: string; format: FormatId };
}

export { recipePathFor } from "../io/output-names.js";

/** The recipe's record of a model; `hashes` gives the hash when the files were hashed while they were merged. */
export async function describeInput(modelFiles: readonly string[], recipeDir: string, hashes?: FileHashes): Promise<RecipeInput> {
  const sha256 = hashes ? await hashes.digestFiles(modelFiles) : await sha256Files(modelFiles);
  return { path: relative(recipeDir, resolve(modelFiles[0]!)), sha256 };
}

export function resolveInput(recipePath: string, input: RecipeInput): string {
  return isAbsolute(input.path) ? input.path : resolve(dirname(recipePath), input.path);
}

export async function writeRecipe(path: string, recipe: Recipe): Promise<void> {
  const text = `${JSON.stringify(recipe, null, 2)}\n`;
  await writeFilesAtomically([{ path, write: (temp) => writeFile(temp, text) }]);
}

function fail(path: string, what: string): never {
  throw new ModelFileError(path, `is not a valid Model Soup recipe: ${what}`);
}

export async function readRecipe(path: string): Promise<Recipe> {
  let parsed: unknown;
  try {
    requireRegularFile(path);
    parsed = parseBoundedJson(path, "a recipe", await readFile(path, "utf8"));
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    throw new ModelFileError(path, `cannot be read as a recipe JSON (${(error as Error).message})`);
  }
  const r = parsed as Partial<Recipe>;
  if (typeof r !== "object" || r === null || r.kind !== "model-soup-recipe") fail(path, 'expected "kind": "model-soup-recipe"');
  if (r.version !== 1) fail(path, `version ${String(r.version)} is not supported (expected 1)`);
  if (typeof r.merge?.method !== "string" || !Array.isArray(r.merge.ingredients)) fail(path, "no merge method and ingredients");
  if (!Array.isArray(r.inputs) || r.inputs.length !== r.merge.ingredients.length) fail(path, "expected one input (path and sha256) per ingredient");
  for (const input of r.inputs) {
    if (typeof input?.path !== "string" || typeof input.sha256 !== "string") fail(path, "each input needs a path and a sha256");
  }
  if (typeof r.output?.path !== "string") fail(path, "no output path");
  checkShapes(path, r as Recipe);
  return r as Recipe;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Refuses a recipe whose parts have the wrong JSON types, before anything runs on them. */
function checkShapes(path: string, r: Recipe): void {
  // Values inside are checked by the merge's own parameter parsing; here only the containers' types.
  const params = (v: unknown, where: string) => {
    if (v !== undefined && !isRecord(v)) fail(path, `${where} must be an object`);
  };
  params(r.merge.params, "merge.params");
  if (r.merge.params === undefined) r.merge.params = {};
  r.merge.ingredients.forEach((ingredient, i) => {
    const where = `merge.ingredients[${i}]`;
    if (!isRecord(ingredient) || typeof ingredient.path !== "string") fail(path, `${where} needs a path`);
    if (ingredient.weight === null || typeof ingredient.weight === "string") fail(path, `${where}.weight must be a number`);
    params(ingredient.params, `${where}.params`);
    if (ingredient.weightsByLayer !== undefined) {
      if (!isRecord(ingredient.weightsByLayer) || !Object.values(ingredient.weightsByLayer).every((w) => typeof w === "number")) {
        fail(path, `${where}.weightsByLayer must map layer names to numbers`);
      }
    }
  });
  if (r.merge.base !== undefined && typeof r.merge.base !== "string") fail(path, "merge.base must be a path");
  if (r.merge.outDtype !== undefined && typeof r.merge.outDtype !== "string") fail(path, "merge.outDtype must be a dtype name");
  if (r.base !== undefined && (!isRecord(r.base) || typeof r.base.path !== "string" || typeof r.base.sha256 !== "string")) {
    fail(path, "base needs a path and a sha256");
  }
  if (r.overrides !== undefined) {
    if (!isRecord(r.overrides)) fail(path, "overrides must map tensor names to lists of numbers");
    for (const values of Object.values(r.overrides)) {
      if (!Array.isArray(values) || !values.every((x) => typeof x === "number")) fail(path, "overrides must map tensor names to lists of numbers");
    }
  }
  if (typeof r.output.format !== "string") fail(path, "output.format must be a format name");
}
