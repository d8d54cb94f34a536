/**
 * Where the Save dialog proposes to write a merged model: in a sibling folder of the ingredients' common
 * folder, named after it ("models" → "models-soup"), so the merge never lands among its ingredients (where
 * the next folder merge would take it for one). No vscode: tested on its own.
 */
import { basename, dirname, extname, join, sep } from "node:path";

/** The deepest folder that holds every path. */
export function commonFolder(paths: readonly string[]): string {
  const split = paths.map((p) => dirname(p).split(sep));
  const first = split[0] ?? [];
  let depth = first.length;
  for (const parts of split) {
    let i = 0;
    while (i < depth && parts[i] === first[i]) i++;
    depth = i;
  }
  return first.slice(0, depth).join(sep) || sep;
}

/** The model file name a merge of `first`'s format takes (TF.js: model.json in its own folder). */
export function mergedFileName(first: string): string {
  if (first.endsWith(".safetensors.index.json")) return "merged.safetensors";
  if (extname(first) === ".json") return "model.json";
  return `merged${extname(first)}`;
}

export function defaultSaveTarget(models: readonly string[]): string {
  const folder = commonFolder(models);
  const parent = dirname(folder);
  const sibling = folder === parent ? join(folder, "soup") : join(parent, `${basename(folder)}-soup`);
  return join(sibling, mergedFileName(models[0]!));
}
