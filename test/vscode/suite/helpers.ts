/** Shared helpers of the VS Code suite: the extension's API and the fixtures workspace. */
import * as vscode from "vscode";
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
  return [1, 2, 3, 4, 5].map((i) => inWorkspace("samples", "digits", "models", `ingredient-${i}`, "model.json"));
}

export function digitsData(): string {
  return inWorkspace("samples", "digits", "soup.csv.gz");
}

/** Digits rows with one pixel column dropped (63 features for 64-input models); written by workspace.ts. */
export function wrongData(): string {
  return inWorkspace("data", "digits-63-columns.csv");
}

export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
