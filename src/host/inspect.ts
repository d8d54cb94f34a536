/**
 * "Inspect": a read-only summary document of one model (format, files, architecture, tensors), served by a
 * TextDocumentContentProvider from the manifest alone.
 */
import * as vscode from "vscode";
import { basename } from "node:path";
import { parameterCount } from "../core/architecture/index.js";
import { readManifest } from "../core/formats/registry.js";
import type { ModelManifest } from "../core/model.js";
import { formatShape } from "../core/tensor.js";
import { FORMAT_LABELS, formatCount, mainDtype } from "./tree-nodes.js";

export const INSPECT_SCHEME = "model-soup-inspect";

export function inspectUri(modelPath: string): vscode.Uri {
  return vscode.Uri.from({ scheme: INSPECT_SCHEME, path: `/${basename(modelPath)} — summary.md`, query: modelPath });
}

export function renderSummary(manifest: ModelManifest): string {
  const params = parameterCount(manifest);
  const lines = [
    `# ${basename(manifest.path)}`,
    "",
    `- Path: ${manifest.path}`,
    `- Format: ${FORMAT_LABELS[manifest.format] ?? manifest.format}`,
    `- Parameters: ${params.toLocaleString("en-US")} (${formatCount(params)}) in ${manifest.tensors.length} tensors`,
    `- Dtype: ${mainDtype(manifest)}`,
    `- Files: ${manifest.files.map((f) => basename(f)).join(", ")}`,
  ];
  for (const [key, value] of Object.entries(manifest.metadata)) {
    if (value === undefined || typeof value === "object") continue;
    lines.push(`- ${key}: ${String(value)}`);
  }
  for (const w of manifest.warnings) lines.push(`- Note: ${w}`);
  const arch = manifest.architecture;
  if (arch) {
    lines.push("", `## Architecture (${arch.modelClass}, ${arch.layers.length} layers)`, "");
    for (const layer of arch.layers) {
      const inbound = layer.inbound.length ? ` ← ${layer.inbound.join(", ")}` : "";
      lines.push(`- ${layer.name}: ${layer.className}${inbound}`);
    }
  }
  lines.push("", "## Tensors", "", "| name | shape | dtype | layer |", "|---|---|---|---|");
  for (const t of manifest.tensors) lines.push(`| ${t.name} | ${formatShape(t.shape)} | ${t.dtype} | ${t.layer} |`);
  return lines.join("\n") + "\n";
}

export class InspectProvider implements vscode.TextDocumentContentProvider {
  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    try {
      return renderSummary(await readManifest(uri.query));
    } catch (error) {
      return `# ${basename(uri.query)}\n\nThis file cannot be read as a model:\n\n${(error as Error).message}\n`;
    }
  }
}

export async function showInspect(modelPath: string): Promise<vscode.TextEditor> {
  const document = await vscode.workspace.openTextDocument(inspectUri(modelPath));
  await vscode.languages.setTextDocumentLanguage(document, "markdown");
  return vscode.window.showTextDocument(document, { preview: true });
}
