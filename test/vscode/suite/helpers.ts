/** Shared helpers of the VS Code suite: the extension's API and the fixtures workspace. */
import * as vscode from "vscode";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { ModelSoupApi } from "../../../src/host/extension.js";

export async function api(): Promise<ModelSoupApi> {
  const extension = vscode.extensions.getExtension<ModelSoupApi>("model-soup.model-soup");
  if (!extension) throw new Error("Model Soup is not installed in this VS Code");
  return extension.activate();
}

export function workspaceRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error("the suite needs the fixtures workspace open");
  return folder.uri.fsPath;
}

export function inWorkspace(...parts: string[]): string {
  return join(workspaceRoot(), ...parts);
}

export function digitsModels(): string[] {
  // Every ingredient-N of the sample, in N order (the sample's size is the sample's business).
  const folder = inWorkspace("samples", "digits", "models");
  return readdirSync(folder)
    .filter((f) => /^ingredient-\d+$/.test(f))
    .sort((a, b) => Number(a.slice(11)) - Number(b.slice(11)))
    .map((f) => join(folder, f, "model.json"));
}

export function digitsData(): string {
  return inWorkspace("samples", "digits", "soup.csv.gz");
}

/** Digits rows with one pixel column dropped (63 features for 64-input models); written by workspace.ts. */
export function wrongData(): string {
  return inWorkspace("data", "digits-63-columns.csv");
}

export async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
