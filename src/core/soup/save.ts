/** Writes a merged model and the recipe beside it; and re-runs a recipe (`apply`). */
import { mkdir, rm, unlink } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { ModelFileError, UsageError } from "../errors.js";
import { readManifest } from "../formats/registry.js";
import type { MergeStatistics } from "../merge/plan.js";
import { getMergeMethod } from "../merge/registry.js";
import type { MergeSpec } from "../merge/spec.js";
import { sha256Files } from "../recipe/hash.js";
import { describeInput, readRecipe, recipePathFor, resolveInput, writeRecipe, type Recipe } from "../recipe/recipe.js";
import { mergeModelFiles, type MergeFilesOptions } from "./merge-files.js";

export const TOOL_VERSION = "0.1.0";

export interface SaveSoupOptions {
  spec: MergeSpec;
  target: string;
  origin: Recipe["origin"];
  learning?: Recipe["learning"];
  data?: Recipe["data"];
  metrics?: unknown;
  backend?: string;
  /** Tensor values that replace the merge's (see MergeFilesOptions.overrides); recorded in the recipe. */
  overrides?: Record<string, number[]>;
  /** Data statistics for RegMean and Fisher (see MergeFilesOptions.statistics); the recipe records their data. */
  statistics?: MergeStatistics;
  onProgress?: MergeFilesOptions["onProgress"];
  isCancelled?: () => boolean;
}

export interface SavedSoup {
  model: string;
  recipe: string;
  warnings: string[];
}

/** Merges, writes the model, then its recipe; when the recipe cannot be written the model is removed again. */
export async function saveSoup(options: SaveSoupOptions): Promise<SavedSoup> {
  const target = resolve(options.target);
  const recipePath = recipePathFor(target);
  const recipeDir = dirname(recipePath);
  const spec = options.spec;
  const inputs = await Promise.all(spec.ingredients.map(async (g) => describeInput((await readManifest(g.path)).files, recipeDir)));
  const base =
    spec.base !== undefined ? await describeInput((await readManifest(spec.base)).files, recipeDir) : undefined;
  // A missing output folder is made, and removed again when the merge fails, so a failure leaves nothing.
  const createdDir = await mkdir(dirname(target), { recursive: true });
  let outcome;
  try {
    outcome = await mergeModelFiles({ spec, target, overrides: options.overrides, statistics: options.statistics, onProgress: options.onProgress, isCancelled: options.isCancelled });
  } catch (error) {
    if (createdDir !== undefined) await rm(createdDir, { recursive: true, force: true });
    throw error;
  }
  const written = await readManifest(target);
  const recipe: Recipe = {
    kind: "model-soup-recipe",
    version: 1,
    tool: { name: "model-soup", version: TOOL_VERSION },
    created: new Date().toISOString(),
    origin: options.origin,
    merge: {
      ...spec,
      ingredients: spec.ingredients.map((g, i) => ({ ...g, path: inputs[i]!.path })),
      ...(base ? { base: base.path } : {}),
    },
    inputs,
    ...(base ? { base } : {}),
    ...(options.learning ? { learning: options.learning } : {}),
    ...(options.data ? { data: options.data } : {}),
    ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.overrides ? { overrides: options.overrides } : {}),
    output: { path: resolve(target).slice(recipeDir.length + 1), format: written.format },
  };
  try {
    await writeRecipe(recipePath, recipe);
  } catch (error) {
    await Promise.all(written.files.map((f) => unlink(f).catch(() => undefined)));
    throw error;
  }
  return { model: target, recipe: recipePath, warnings: outcome.warnings };
}

/**
 * Re-computes the data statistics of a data-aware recipe (RegMean, Fisher) from its models and its recorded data;
 * the worker provides it, since it runs the models.
 */
export type RecipeStatistics = (recipe: Recipe, spec: MergeSpec, recipePath: string) => Promise<MergeStatistics>;

/** Recreates a recipe's merged model from its inputs, refusing when any input's content changed. */
export async function applyRecipe(
  recipePath: string,
  out?: string,
  hooks: Pick<SaveSoupOptions, "onProgress" | "isCancelled"> & { statistics?: RecipeStatistics } = {},
): Promise<SavedSoup> {
  const recipe = await readRecipe(recipePath);
  const check = async (input: { path: string; sha256: string }): Promise<string> => {
    const path = resolveInput(recipePath, input);
    const files = (await readManifest(path)).files;
    const actual = await sha256Files(files);
    if (actual !== input.sha256) {
      throw new ModelFileError(path, `has changed since the recipe ${recipePath} was written (SHA-256 ${actual}, the recipe expects ${input.sha256}); refusing to apply it`);
    }
    return path;
  };
  const paths: string[] = [];
  for (const input of recipe.inputs) paths.push(await check(input));
  const basePath = recipe.base ? await check(recipe.base) : undefined;
  const spec: MergeSpec = {
    ...recipe.merge,
    ingredients: recipe.merge.ingredients.map((g, i) => ({ ...g, path: paths[i]! })),
    ...(basePath ? { base: basePath } : {}),
  };
  const target = out ?? resolve(dirname(recipePath), recipe.output.path);
  let statistics: MergeStatistics | undefined;
  let data = recipe.data;
  if (getMergeMethod(spec.method).data === "required") {
    if (hooks.statistics === undefined) throw new UsageError(`${recipePath}: ${spec.method} re-computes statistics of the models on data, which needs the worker`);
    statistics = await hooks.statistics(recipe, spec, recipePath);
    // A data-aware recipe records its data relative to its own folder, like its inputs: re-based for the new recipe.
    if (data !== undefined && !isAbsolute(data.path)) {
      data = { ...data, path: relative(dirname(recipePathFor(resolve(target))), resolve(dirname(recipePath), data.path)) };
    }
  }
  return saveSoup({
    spec,
    target,
    origin: recipe.origin,
    learning: recipe.learning,
    data,
    metrics: recipe.metrics,
    backend: recipe.backend,
    overrides: recipe.overrides,
    statistics,
    onProgress: hooks.onProgress,
    isCancelled: hooks.isCancelled,
  });
}
