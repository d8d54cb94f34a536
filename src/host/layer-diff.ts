/**
 * The per-layer diff: vscode.diff between two read-only virtual documents (scheme model-soup-layers), the
 * reference ingredient and another model, one line per tensor with its statistics and its change from the
 * reference. The statistics need tensor data, so the worker computes them ("soup/layerStats"); a worker
 * that does not know that request yet makes the host compute them itself, one tensor at a time.
 */
import * as vscode from "vscode";
import { basename } from "node:path";
import { ErrorCodes, RequestType, ResponseError } from "vscode-jsonrpc";
import { formatLayerStats, layerStats, type TensorStats } from "../core/diff/layer-stats.js";
import type { WorkerManager } from "./worker-manager.js";

export const LAYERS_SCHEME = "model-soup-layers";

/** The request the worker answers with the statistics of `model` (and its change from `reference`). */
export const layerStatsRequest = new RequestType<{ model: string; reference?: string }, { tensors: TensorStats[] }, void>(
  "soup/layerStats",
);

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
  private workerKnowsStats = true;

  constructor(private readonly worker: WorkerManager) {}

  async provideTextDocumentContent(uri: vscode.Uri, token: vscode.CancellationToken): Promise<string> {
    const side = JSON.parse(uri.query) as DiffSide;
    const stats = await this.stats(side, token);
    const header =
      side.model === side.reference
        ? `${side.model} (reference)`
        : `${side.model} (change from ${basename(side.reference)})`;
    return formatLayerStats(stats, header);
  }

  private async stats(side: DiffSide, token: vscode.CancellationToken): Promise<TensorStats[]> {
    if (this.workerKnowsStats) {
      try {
        return (await this.worker.request(layerStatsRequest, { model: side.model, reference: side.reference }, token)).tensors;
      } catch (error) {
        if (!isMethodNotFound(error)) throw error;
        this.workerKnowsStats = false;
      }
    }
    return layerStats(side.model, side.reference, { isCancelled: () => token.isCancellationRequested });
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

/** The worker answered that it has no such request (the client turns JSON-RPC errors into plain Errors). */
function isMethodNotFound(error: unknown): boolean {
  if (error instanceof ResponseError) return error.code === ErrorCodes.MethodNotFound;
  return error instanceof Error && /^Unhandled method /.test(error.message);
}
