/**
 * The Merge panel's title: the models' common folder, so two panels of different families are told apart
 * ("Merge 4 Models: kfold", not "Merge 4 Models" twice). No vscode: tested on its own.
 */
import { dirname, sep } from "node:path";

/** The deepest folder holding every model (a TF.js model counts as its model.json's folder's parent's child). */
export function commonFolder(models: readonly string[]): string {
  if (models.length === 0) return "";
  const parts = models.map((m) => dirname(m).split(sep));
  const first = parts[0]!;
  let n = 0;
  while (n < first.length && parts.every((p) => p[n] === first[n])) n++;
  return first.slice(0, n).join(sep) || sep;
}

/**
 * `relative` shows a folder as the user knows it (workspace-relative); the workspace folder itself, or a folder
 * outside it, shows by its last two names.
 */
export function panelTitle(models: readonly string[], relative: (folder: string) => string = (f) => f): string {
  const folder = commonFolder(models);
  let shown = relative(folder);
  if (shown === "" || shown === folder) shown = folder.split(sep).filter(Boolean).slice(-2).join("/");
  return `Merge ${models.length} Models: ${shown}`;
}
