/**
 * An ingredient beside its aligned self: which of its units went where when the Merge panel's last aligned run
 * aligned it to the reference. The worker aligns the models again into a temporary folder (same method, reference
 * and data, so the same permutations), and the aligned ingredient's recipe says where each unit went; the page is a
 * read-only document (scheme model-soup-units) titled with both sides.
 */
import * as vscode from "vscode";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readRecipe } from "../core/recipe/recipe.js";
import { formatUnitMoves, unitMoves } from "../core/report/unit-moves.js";
import { WorkerRequests, type AlignParams } from "../protocol/worker.js";
import type { WorkerManager } from "./worker-manager.js";

export const UNITS_SCHEME = "model-soup-units";

const pages = new Map<string, string>();

export class UnitMovesProvider implements vscode.TextDocumentContentProvider {
  provideTextDocumentContent(uri: vscode.Uri): string {
    return (
      pages.get(uri.toString()) ??
      "This page was computed in an earlier window: open it again from the Merge panel (Show Unit Moves).\n"
    );
  }
}

/** Aligns `params.models` again and opens the page of `models[index]`; returns the page's text. */
export async function openUnitMoves(
  worker: WorkerManager,
  params: Omit<AlignParams, "out" | "merge">,
  index: number,
  labels: { model: string; reference: string },
  token?: vscode.CancellationToken,
): Promise<string> {
  const folder = mkdtempSync(join(tmpdir(), "model-soup-aligned-"));
  try {
    const result = await worker.request(WorkerRequests.align, { ...params, out: folder }, token);
    const output = result.outputs[index];
    if (!output)
      throw new Error(`the worker wrote ${result.outputs.length} aligned models, not one for ingredient ${index + 1}`);
    const recipe = await readRecipe(output.recipe);
    const text = formatUnitMoves(
      unitMoves(recipe.alignment?.permutations[0] ?? {}),
      labels.model,
      labels.reference,
      params.align.method,
    );
    const title = `Unit moves ${labels.model} → ${labels.reference}`.replace(/\//g, "∕");
    const uri = vscode.Uri.from({ scheme: UNITS_SCHEME, path: `/${title}`, query: String(Date.now()) });
    pages.set(uri.toString(), text);
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), {
      preview: true,
      viewColumn: vscode.ViewColumn.Beside,
      preserveFocus: true,
    });
    return text;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
