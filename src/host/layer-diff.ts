/**
 * The Per-Layer Diff of one model from a reference: a read-only document (scheme model-soup-layers, language
 * model-soup-layer-diff, so it is never parsed as JSON even when a side is a model.json) titled with both sides, the relative change first (src/core/report/layer-changes.ts). The statistics need tensor
 * data, so the worker computes them ("soup/layerStats"); the Merge panel also draws them as a bar chart.
 */
import * as vscode from "vscode";
import { shortLabels } from "../core/architecture/index.js";
import { readManifest } from "../core/formats/registry.js";
import { kerasVariableNames } from "../core/keras/variable-names.js";
import { formatLayerChanges } from "../core/report/layer-changes.js";
import { WorkerRequests, type TensorStatsLine } from "../protocol/worker.js";
import type { WorkerManager } from "./worker-manager.js";

export const LAYERS_SCHEME = "model-soup-layers";
/** The document's own language (package.json contributes it): no JSON diagnostics, no Problems entry. */
export const LAYER_DIFF_LANGUAGE = "model-soup-layer-diff";

interface LayerDocument {
  model: string;
  reference: string;
  modelLabel: string;
  referenceLabel: string;
}

/** Documents already computed, by URI (the provider computes the others, e.g. after a reload). */
const computed = new Map<string, string>();

export function layersUri(doc: LayerDocument): vscode.Uri {
  // The tab shows the path's last segment: both sides' names, with "/" drawn as a division slash and "." as a
  // one-dot leader, so no extension (".json" of a model.json) picks the document's language.
  const title = `${doc.modelLabel} vs ${doc.referenceLabel}`.replace(/\//g, "∕").replace(/\./g, "․");
  return vscode.Uri.from({ scheme: LAYERS_SCHEME, path: `/Per-Layer Diff ${title}`, query: JSON.stringify(doc) });
}

/** The document's text: Keras 3 `vars/<i>` tensors by their Keras names (`dense/kernel`). */
async function documentText(tensors: TensorStatsLine[], doc: LayerDocument): Promise<string> {
  const names = await readManifest(doc.model).then(
    (m) => kerasVariableNames(m.architecture?.layers ?? []),
    () => new Map<string, string>(),
  );
  const readable = tensors.map((t) => ({ ...t, name: names.get(t.name) ?? t.name }));
  return formatLayerChanges(readable, doc.modelLabel, doc.referenceLabel);
}

export class LayerStatsProvider implements vscode.TextDocumentContentProvider {
  constructor(private readonly worker: WorkerManager) {}

  async provideTextDocumentContent(uri: vscode.Uri, token: vscode.CancellationToken): Promise<string> {
    const known = computed.get(uri.toString());
    if (known !== undefined) return known;
    const doc = JSON.parse(uri.query) as LayerDocument;
    const { tensors } = await this.worker.request(
      WorkerRequests.layerStats,
      { model: doc.model, reference: doc.reference },
      token,
    );
    return documentText(tensors, doc);
  }
}

/**
 * Computes `model`'s change from `reference` in the worker, opens it as a document titled with both sides, and
 * returns the statistics. Labels default to the shortest path suffixes that tell the two apart.
 */
export async function openLayerChanges(
  worker: WorkerManager,
  model: string,
  reference: string,
  labels?: { model: string; reference: string },
  beside = false,
): Promise<TensorStatsLine[]> {
  const [modelLabel, referenceLabel] = labels ? [labels.model, labels.reference] : shortLabels([model, reference]);
  const { tensors } = await worker.request(WorkerRequests.layerStats, { model, reference });
  const doc: LayerDocument = { model, reference, modelLabel: modelLabel!, referenceLabel: referenceLabel! };
  const uri = layersUri(doc);
  computed.set(uri.toString(), await documentText(tensors, doc));
  const document = await vscode.languages.setTextDocumentLanguage(
    await vscode.workspace.openTextDocument(uri),
    LAYER_DIFF_LANGUAGE,
  );
  await vscode.window.showTextDocument(document, {
    preview: true,
    ...(beside ? { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true } : {}),
  });
  return tensors;
}
