/**
 * Whether a model is the one its recipe describes: every file of the model (model file and shards) against the
 * SHA-256 the recipe recorded when it wrote them (`output.files`). One verdict, one line.
 */
import { readConsistently } from "../io/consistent-read.js";
import { dirname, relative, resolve } from "node:path";
import { readManifest } from "../formats/registry.js";
import { sha256File } from "./hash.js";
import { readRecipe } from "./recipe.js";

export interface OutputCheck {
  recipe: string;
  model: string;
  verdict: "match" | "mismatch" | "unrecorded";
  /** One line saying the verdict and, for a mismatch, the first file that differs. */
  line: string;
}

/** Checks the model at the recipe's output path (or `model`, when given) against the hashes the recipe recorded. */
export function checkRecipeOutput(recipePath: string, model?: string): Promise<OutputCheck> {
  // The recipe is renamed into place last: a writer that replaced it meanwhile has the check made again, so an
  // old recipe is never checked against the new model's files (io/consistent-read.ts).
  return readConsistently(recipePath, async () => {
    const recipe = await readRecipe(recipePath);
    const folder = dirname(resolve(recipePath));
    const modelPath = model ?? resolve(folder, recipe.output.path);
    return checkAgainstRecorded(recipePath, recipe.output.files, modelPath);
  });
}

/**
 * Checks `modelPath` against the hashes `recorded` (file names relative to the recipe's folder), as the recipe at
 * `recipePath` held them: also for a recipe that has since been rewritten (the editor's Apply Recipe keeps the
 * hashes it read before rebuilding).
 */
export async function checkAgainstRecorded(
  recipePath: string,
  recorded: Readonly<Record<string, string>> | undefined,
  modelPath: string,
): Promise<OutputCheck> {
  const folder = dirname(resolve(recipePath));
  const result = (verdict: OutputCheck["verdict"], line: string): OutputCheck => ({
    recipe: recipePath,
    model: modelPath,
    verdict,
    line,
  });
  if (recorded === undefined)
    return result(
      "unrecorded",
      `${recipePath} records no hashes of its output (written by an older version); nothing to check ${modelPath} against`,
    );
  const files = await readManifest(modelPath).then(
    (m) => m.files.map((f) => relative(folder, resolve(f))),
    (error: Error) => error,
  );
  if (files instanceof Error) return result("mismatch", `mismatch: ${files.message}`);
  const differs = (why: string) =>
    result("mismatch", `mismatch: ${modelPath} is not the model ${recipePath} describes: ${why}`);
  for (const name of Object.keys(recorded))
    if (!files.includes(name)) return differs(`the model has no file ${name}, which the recipe recorded`);
  for (const name of files) {
    const expected = recorded[name];
    if (expected === undefined) return differs(`its file ${name} is not one the recipe recorded`);
    const actual = await sha256File(resolve(folder, name));
    if (actual !== expected) return differs(`${name} has SHA-256 ${actual}, the recipe recorded ${expected}`);
  }
  return result("match", `match: ${modelPath} is the model ${recipePath} describes (${files.length} file(s), SHA-256)`);
}
