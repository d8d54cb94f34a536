/**
 * Which of the listed models are merges Model Soup wrote: a model is a merge when a Model Soup recipe in its
 * folder names it as its output. Merges are listed under their group as merges (with their ingredients), and
 * are never offered as ingredients of the next merge. Reads only the small recipe JSON files; no vscode.
 */
import { readdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { readRecipe, resolveInput } from "../core/recipe/recipe.js";

export interface MergeInfo {
  /** The merged model's path. */
  model: string;
  recipe: string;
  /** How its coefficients were found ("learned", "greedy", "manual", "uniform"). */
  origin: string;
  method: string;
  /** The ingredients' paths, as the recipe records them. */
  ingredients: string[];
}

const RECIPE = /(^|\.)recipe\.json$/i;

/** The merges among `models`, by model path. Folders without a recipe cost one directory read. */
export async function findMerges(models: readonly string[]): Promise<Map<string, MergeInfo>> {
  const wanted = new Set(models.map((m) => resolve(m)));
  const merges = new Map<string, MergeInfo>();
  for (const folder of new Set(models.map((m) => dirname(resolve(m))))) {
    let names: string[];
    try {
      names = await readdir(folder);
    } catch {
      continue;
    }
    for (const name of names.filter((n) => RECIPE.test(n))) {
      const recipePath = join(folder, name);
      try {
        const recipe = await readRecipe(recipePath);
        const output = (recipe as { output?: { path?: unknown } }).output?.path;
        if (typeof output !== "string") continue;
        const model = resolve(folder, output);
        if (!wanted.has(model)) continue;
        merges.set(model, {
          model,
          recipe: recipePath,
          origin: recipe.origin,
          method: recipe.merge.method,
          ingredients: recipe.inputs.map((input) => resolveInput(recipePath, input)),
        });
      } catch {
        // Not a Model Soup recipe (or a damaged one): the model is treated as an ordinary model.
      }
    }
  }
  return merges;
}
