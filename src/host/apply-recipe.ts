/**
 * Apply Recipe in the editor: rebuilds the model a recipe describes, asking before it replaces an existing model,
 * and says whether the rebuilt files are the ones the recipe recorded (the check of `model-soup apply --check`,
 * src/core/recipe/check.ts, against the hashes read before rebuilding). When they are, the recipe is left as it
 * was: nothing changed, so its `created` is not rewritten.
 */
import * as vscode from "vscode";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { checkAgainstRecorded, type OutputCheck } from "../core/recipe/check.js";
import { readRecipe } from "../core/recipe/recipe.js";
import { WorkerRequests } from "../protocol/worker.js";
import type { JobStatus } from "./job-progress.js";
import type { WorkerManager } from "./worker-manager.js";

export const RECIPE_FILTER = { "Model Soup recipe (*.recipe.json)": ["recipe.json"] };
export const REPLACE = "Replace";

export interface ApplyOutcome {
  model: string;
  recipe: string;
  /** The rebuilt model against the hashes the recipe held before. */
  check: OutputCheck;
  /** Whether the recipe file was left byte for byte as it was. */
  recipeKept: boolean;
}

/** Asks before replacing; resolves to the button chosen (REPLACE) or undefined. */
export type Confirm = (question: string, detail: string) => Thenable<string | undefined>;

export const confirmModal: Confirm = (question, detail) =>
  vscode.window.showWarningMessage(question, { modal: true, detail }, REPLACE);

export async function pickRecipe(): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({
    title: "Apply Recipe: choose a Model Soup recipe to rebuild its model",
    canSelectMany: false,
    canSelectFiles: true,
    canSelectFolders: false,
    filters: RECIPE_FILTER,
    openLabel: "Apply Recipe",
  });
  return picked?.[0]?.fsPath;
}

/** Rebuilds `recipePath`'s model; undefined when the user kept the existing model. */
export async function applyRecipeFile(
  services: { worker: WorkerManager; jobs: JobStatus },
  recipePath: string,
  confirm: Confirm = confirmModal,
): Promise<ApplyOutcome | undefined> {
  const recipe = await readRecipe(recipePath);
  const target = resolve(dirname(resolve(recipePath)), recipe.output.path);
  if (existsSync(target)) {
    const before = await checkAgainstRecorded(recipePath, recipe.output.files, target);
    const state =
      before.verdict === "match"
        ? "It is the model the recipe describes (every file matches the recorded SHA-256)."
        : before.verdict === "unrecorded"
          ? "The recipe records no hashes to compare it with."
          : `It is not the model the recipe describes: ${before.line.replace(/^mismatch: /, "")}.`;
    const choice = await confirm(
      `Replace ${basename(dirname(target))}/${basename(target)}?`,
      `${target} exists. ${state} Applying ${basename(recipePath)} writes the model again in its place.`,
    );
    if (choice !== REPLACE) return undefined;
  }
  const recipeText = await readFile(recipePath, "utf8");
  const result = await services.jobs.run(`applying ${basename(recipePath)}`, (token) =>
    services.worker.request(WorkerRequests.apply, { recipe: recipePath, jobId: `apply-${Date.now()}` }, token),
  );
  const check = await checkAgainstRecorded(recipePath, recipe.output.files, result.model);
  // The same files as recorded: the rewritten recipe would differ only in its `created`, so the original stays.
  const recipeKept = check.verdict === "match" && resolve(result.recipe) === resolve(recipePath);
  if (recipeKept) await writeFile(recipePath, recipeText);
  return { model: result.model, recipe: result.recipe, check, recipeKept };
}

/** The notification after a rebuild: the hash verdict, with Reveal / Open. */
export async function announceApplied(outcome: ApplyOutcome, open: (path: string) => Thenable<unknown>): Promise<void> {
  const name = `${basename(dirname(outcome.model))}/${basename(outcome.model)}`;
  const text =
    outcome.check.verdict === "match"
      ? `Rebuilt ${name}: its tensors match the hashes the recipe recorded${outcome.recipeKept ? " (recipe unchanged)" : ""}.`
      : outcome.check.verdict === "unrecorded"
        ? `Rebuilt ${name}; the recipe records no hashes to compare it with.`
        : `Rebuilt ${name}, but it differs from what the recipe recorded: ${outcome.check.line.replace(/^mismatch: /, "")}`;
  const show =
    outcome.check.verdict === "mismatch" ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
  const choice = await show(`Model Soup: ${text}`, "Reveal in Explorer", "Open");
  if (choice === "Reveal in Explorer")
    await vscode.commands.executeCommand("revealInExplorer", vscode.Uri.file(outcome.model));
  else if (choice === "Open") await open(outcome.model);
}
