import { basename, dirname, join, resolve } from "node:path";
import { UsageError } from "../../core/errors.js";
import { readManifest } from "../../core/formats/registry.js";
import { recipePathFor } from "../../core/recipe/recipe.js";

/** Where each aligned model goes in the output folder: its file name, or its folder for a model.json. */
export function outputNames(models: readonly string[], folder: string): string[] {
  const names = models.map((m) =>
    basename(m) === "model.json" ? join(basename(dirname(resolve(m))), "model.json") : basename(m),
  );
  const unique = new Set(names).size === names.length;
  return names.map((n, i) => join(folder, unique ? n : `${i + 1}-${n.replace("/", "-")}`));
}

/** The aligned models' paths in `folder` (outputNames), refused when one would land on a file an input is read from. */
export async function alignedOutputs(models: readonly string[], folder: string): Promise<string[]> {
  const targets = outputNames(models, folder);
  const inputs = new Set<string>();
  for (const m of models) for (const f of (await readManifest(m)).files) inputs.add(resolve(f));
  for (const t of targets) {
    if (inputs.has(resolve(t)) || inputs.has(resolve(recipePathFor(t))))
      throw new UsageError(`--out ${folder} would overwrite an input (${t}); choose another folder`);
  }
  return targets;
}
