/**
 * "Model Soup: Compare Models…": which two files to compare, from what the user did. Two models selected in the
 * Model Explorer (its context menu) are compared at once; one model (the viewer's "Compare with…") is compared
 * with a model picked from its group (any listed model when it has none, or a file chosen from disk); nothing
 * (the palette) asks for both.
 */
import * as vscode from "vscode";
import { basename } from "node:path";
import type { AnalyzedModel } from "../core/architecture/analyze.js";
import { CompareView, type CompareServices } from "./compare-view.js";
import type { ModelCatalog } from "./model-catalog.js";
import type { ModelNode } from "./tree-nodes.js";
import { MODEL_GLOB } from "../core/io/model-candidates.js";

/** The extensions MODEL_GLOB names (json, keras, h5, …), for the file dialog's filter. */
const MODEL_EXTENSIONS = [...new Set([...MODEL_GLOB.matchAll(/\.(\w+)[,}]/g)].map((m) => m[1]!))];

function modelPath(arg: unknown): string | undefined {
  if (arg instanceof vscode.Uri) return arg.fsPath;
  if (typeof arg === "string") return arg;
  if (arg && typeof arg === "object" && (arg as ModelNode).kind === "model") return (arg as ModelNode).path;
  return undefined;
}

/** The two paths a call names: (clicked, selected) from a tree menu, ([a, b]), (a, b), or one path, or none. */
export function comparedPaths(clicked?: unknown, selected?: unknown): string[] {
  if (Array.isArray(selected) && selected.length > 1) {
    const paths = selected.map(modelPath).filter((p): p is string => !!p);
    // A right-click outside the selection acts on the clicked model only.
    const clickedPath = modelPath(clicked);
    if (clickedPath === undefined || paths.includes(clickedPath)) return [...new Set(paths)];
    return [clickedPath];
  }
  if (Array.isArray(clicked)) return [...new Set(clicked.map(modelPath).filter((p): p is string => !!p))];
  return [modelPath(clicked), modelPath(selected)].filter((p): p is string => !!p);
}

interface ModelPick extends vscode.QuickPickItem {
  path?: string;
}

const BROWSE: ModelPick = { label: "$(folder-opened) Choose a file…", description: "a model file outside the list" };

/** Asks for one model: those of `first`'s group first (all listed models when the group has no other). */
async function pickModel(catalog: ModelCatalog, title: string, first?: string): Promise<string | undefined> {
  await catalog.ready();
  const models: readonly AnalyzedModel[] = catalog.analysis.models;
  const group = first ? models.find((m) => m.path === first)?.group : undefined;
  const others = models.filter((m) => m.path !== first);
  const sameGroup = group ? others.filter((m) => m.group === group) : [];
  const candidates = sameGroup.length > 0 ? sameGroup : others;
  const items: ModelPick[] = candidates.map((m) => ({
    label: vscode.workspace.asRelativePath(m.path),
    description: `${m.format} · ${m.parameters.toLocaleString("en-US")} parameters`,
    path: m.path,
  }));
  const placeHolder = first
    ? sameGroup.length > 0
      ? `Models of the same architecture as ${basename(first)}`
      : `No other listed model shares ${basename(first)}'s architecture: the comparison will say what differs`
    : "The first model (A, the reference of the relative difference)";
  const picked = await vscode.window.showQuickPick([...items, BROWSE], {
    title,
    placeHolder,
    matchOnDescription: true,
  });
  if (!picked) return undefined;
  if (picked !== BROWSE) return picked.path;
  const chosen = await vscode.window.showOpenDialog({
    title,
    canSelectMany: false,
    openLabel: "Compare",
    filters: { "Model files": MODEL_EXTENSIONS },
  });
  return chosen?.[0]?.fsPath;
}

export async function compareModels(
  services: CompareServices,
  catalog: ModelCatalog,
  clicked?: unknown,
  selected?: unknown,
): Promise<CompareView | undefined> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage(
      "Comparing models reads their tensors in the worker process, which needs a trusted workspace.",
    );
    return undefined;
  }
  const paths = comparedPaths(clicked, selected);
  if (paths.length > 2) {
    void vscode.window.showInformationMessage(
      `Compare Models compares two models; ${paths.length} are selected. Select two.`,
    );
    return undefined;
  }
  const a = paths[0] ?? (await pickModel(catalog, "Compare Models: model A"));
  if (!a) return undefined;
  const b = paths[1] ?? (await pickModel(catalog, `Compare ${basename(a)} with…`, a));
  if (!b) return undefined;
  return CompareView.show(services, a, b);
}
