/**
 * The per-layer diff: vscode.diff between two read-only virtual documents (scheme model-soup-layers), the
 * reference ingredient and another model, one line per tensor with its statistics and its change from the
 * reference. The statistics need tensor data, so the worker computes them ("soup/layerStats").
 */
import * as vscode from "vscode";
import { basename } from "node:path";
import { formatLayerStats } from "../core/diff/layer-stats.js";
import { WorkerRequests } from "../protocol/worker.js";
import type { WorkerManager } from "./worker-manager.js";

export const LAYERS_SCHEME = "model-soup-layers";

interface DiffSide {
  model: string;
  reference: string;
}

export function layersUri(side: DiffSide): vscode.Uri {
  return vscode.Uri.from({
    scheme: LAYERS_SCHEME,
    path: `/${basename(side.model)}.layers.txt`,
    query: JSON.stringify(side),
  });
}

export class LayerStatsProvider implements vscode.TextDocumentContentProvider {
  constructor(private readonly worker: WorkerManager) {}

  async provideTextDocumentContent(uri: vscode.Uri, token: vscode.CancellationToken): Promise<string> {
    const side = JSON.parse(uri.query) as DiffSide;
    const { tensors: stats } = await this.worker.request(WorkerRequests.layerStats, { model: side.model, reference: side.reference }, token);
    const header =
      side.model === side.reference
        ? `${side.model} (reference)`
        : `${side.model} (change from ${basename(side.reference)})`;
    return formatLayerStats(stats, header);
  }
}

/** Opens the diff: left the reference ingredient, right `other` with its change from the reference. */
export async function openLayerDiff(reference: string, other: string): Promise<void> {
  const left = layersUri({ model: reference, reference });
  const right = layersUri({ model: other, reference });
  await vscode.commands.executeCommand(
    "vscode.diff",
    left,
    right,
    `Per-layer: ${basename(reference)} ↔ ${basename(other)}`,
    { preview: true } satisfies vscode.TextDocumentShowOptions,
  );
}
