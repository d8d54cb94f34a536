/** The Model Soup commands: palette, Explorer context menus and Model Explorer context menus. */
import * as vscode from "vscode";
import { basename, resolve } from "node:path";
import {
  analyzeModels,
  mergeableGroups,
  mergeVerdict,
  MIN_INGREDIENTS,
  statusText,
  verdictSentence,
} from "../core/architecture/index.js";
import { announceApplied, applyRecipeFile, pickRecipe, type ApplyOutcome } from "./apply-recipe.js";
import { architectureName } from "./architecture-name.js";
import { compareModels } from "./compare-command.js";
import { openLayerChanges } from "./layer-diff.js";
import { findMerges } from "./merges.js";
import { openInViewer } from "./model-viewer.js";
import { MergePanel, type PanelServices } from "./merge-panel.js";
import type { ModelCatalog } from "./model-catalog.js";
import { MODEL_GLOB, modelCandidates } from "../core/io/model-candidates.js";
import type { ModelTreeProvider } from "./model-tree.js";
import { scanExclude } from "./settings.js";
import type { GroupNode, ModelNode } from "./tree-nodes.js";

export interface CommandContext {
  services: PanelServices;
  catalog: ModelCatalog;
  tree: ModelTreeProvider;
}

/** A model path from what a menu passes: an Explorer Uri or a Model Explorer node. */
function pathOf(arg: unknown): string | undefined {
  if (arg instanceof vscode.Uri) return arg.fsPath;
  if (typeof arg === "string") return arg;
  if (arg && typeof arg === "object" && (arg as ModelNode).kind === "model") return (arg as ModelNode).path;
  return undefined;
}

function requireTrust(): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window
    .showWarningMessage(
      "Merging runs TensorFlow.js in a worker process, so it needs a trusted workspace. Models are still listed and checked.",
      "Manage Workspace Trust",
    )
    .then((choice) => choice && vscode.commands.executeCommand("workbench.trust.manage"));
  return false;
}

/** Opens the panel for `paths` after checking that they can be merged; says why not otherwise. */
async function openPanelFor(ctx: CommandContext, paths: string[]): Promise<MergePanel | undefined> {
  if (!requireTrust()) return undefined;
  const unique = [...new Set(paths)];
  if (unique.length < MIN_INGREDIENTS) {
    void vscode.window.showInformationMessage(
      `Choose at least ${MIN_INGREDIENTS} models of one architecture to merge.`,
    );
    return undefined;
  }
  const verdict = mergeVerdict(await analyzeModels(unique));
  if (!verdict.mergeable) {
    void vscode.window.showErrorMessage(verdictSentence(verdict));
    return undefined;
  }
  // The panel already open for these models is brought forward (it keeps its data and results).
  const open = [...MergePanel.open].find(
    (p) => p.models.length === unique.length && unique.every((m) => p.models.includes(m)),
  );
  if (open) {
    open.panel.reveal();
    return open;
  }
  return MergePanel.create(ctx.services, unique);
}

interface GroupPick extends vscode.QuickPickItem {
  paths: string[];
}

async function pickGroup(
  ctx: CommandContext,
  groups: readonly GroupNode[],
  title: string,
): Promise<string[] | undefined> {
  const mergeable = groups.filter((g) => g.mergeable);
  if (mergeable.length === 1) return mergeable[0]!.children.map((c) => c.path);
  const items: GroupPick[] = mergeable.map((g) => ({
    label: `$(layers) ${g.label}`,
    description: g.description,
    detail: g.children.map((c) => c.label).join(", "),
    paths: g.children.map((c) => c.path),
  }));
  const chooseModels: GroupPick = {
    label: "$(checklist) Choose models…",
    description: "pick the ingredients one by one",
    paths: [],
  };
  if (items.length === 0 && ctx.catalog.analysis.models.length < 2) {
    void vscode.window.showInformationMessage(
      "No group of compatible models found. Model Soup merges two or more models of one architecture.",
    );
    return undefined;
  }
  const picked = await vscode.window.showQuickPick([...items, chooseModels], {
    title,
    placeHolder: "Which models to merge?",
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (!picked) return undefined;
  if (picked !== chooseModels) return picked.paths;
  const models = await vscode.window.showQuickPick(
    ctx.catalog.analysis.models.map((m) => ({ label: vscode.workspace.asRelativePath(m.path), path: m.path })),
    { title, canPickMany: true, placeHolder: "Select the ingredients (two or more, one architecture)" },
  );
  return models?.map((m) => m.path);
}

async function mergeModels(ctx: CommandContext, paths?: unknown): Promise<MergePanel | undefined> {
  if (Array.isArray(paths) && paths.every((p) => typeof p === "string")) return openPanelFor(ctx, paths);
  if (!requireTrust()) return undefined;
  await ctx.catalog.ready();
  if (ctx.catalog.analysis.models.length === 0) await ctx.catalog.refresh();
  const chosen = await pickGroup(ctx, ctx.tree.groups, "Merge Models");
  return chosen ? openPanelFor(ctx, chosen) : undefined;
}

async function mergeFolder(ctx: CommandContext, folder?: vscode.Uri): Promise<MergePanel | undefined> {
  if (!(folder instanceof vscode.Uri)) {
    const picked = await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      openLabel: "Merge Models in Folder",
    });
    folder = picked?.[0];
    if (!folder) return undefined;
  }
  if (!requireTrust()) return undefined;
  const uris = await vscode.workspace.findFiles(new vscode.RelativePattern(folder, MODEL_GLOB), scanExclude());
  const found = await modelCandidates(uris.map((u) => u.fsPath));
  // Merges Model Soup wrote earlier (recognised by their recipe) are never ingredients of the next one.
  const merges = await findMerges(found);
  const paths = found.filter((p) => !merges.has(resolve(p)));
  const analysis = await analyzeModels(paths);
  const groups = mergeableGroups(analysis);
  const name = basename(folder.fsPath);
  if (groups.length === 0) {
    const why =
      paths.length < MIN_INGREDIENTS
        ? `found ${paths.length} model file${paths.length === 1 ? "" : "s"}${merges.size > 0 ? ` besides ${merges.size} earlier merge${merges.size === 1 ? "" : "s"}` : ""}`
        : `no two of its ${paths.length} models share an architecture${analysis.incompatible[0] ? ` (${analysis.incompatible[0].reason})` : ""}`;
    // The menu item shows on every folder (before any scan), so a folder without models is answered here.
    if (found.length === 0) {
      void vscode.window.showInformationMessage(
        `No model in ${name}: Model Soup merges TF.js model.json, .keras, .h5/.hdf5, .safetensors and PyTorch checkpoints, and found none in this folder.`,
      );
      return undefined;
    }
    void vscode.window.showInformationMessage(`Nothing to merge in ${name}: ${why}.`);
    return undefined;
  }
  const nameOf = (models: readonly string[]) => {
    const model = analysis.models.find((m) => m.path === models[0]);
    return model ? architectureName(model.manifest) : "models";
  };
  let chosen: string[] | undefined;
  if (groups.length === 1) chosen = groups[0]!.models;
  else {
    const picked = await vscode.window.showQuickPick(
      groups.map((g) => ({
        label: `${nameOf(g.models)} · ${g.models.length} models`,
        description: statusText(g.status),
        detail: g.models.map((m) => vscode.workspace.asRelativePath(m)).join(", "),
        paths: g.models,
      })),
      { title: `Merge Models in ${name}`, placeHolder: "The folder holds several architectures: which group?" },
    );
    chosen = picked?.paths;
  }
  if (!chosen) return undefined;
  // Say what the folder held that this merge leaves out, rather than dropping it silently.
  const leftOut = [
    ...analysis.models
      .filter((m) => !chosen.includes(m.path))
      .map((m) => `${basename(m.path)} (${architectureName(m.manifest)})`),
    ...analysis.unreadable.map((u) => `${basename(u.path)} (unreadable)`),
  ];
  if (leftOut.length > 0 || merges.size > 0) {
    const parts = [
      ...(leftOut.length > 0
        ? [
            `left out ${leftOut.length} model${leftOut.length === 1 ? "" : "s"} of another architecture: ${leftOut.join(", ")}`,
          ]
        : []),
      ...(merges.size > 0
        ? [`${merges.size} earlier merge${merges.size === 1 ? " is" : "s are"} not an ingredient`]
        : []),
    ];
    void vscode.window.showInformationMessage(
      `Merging ${chosen.length} models of ${name} (${nameOf(chosen)}); ${parts.join("; ")}.`,
    );
  }
  return openPanelFor(ctx, chosen);
}

async function mergeSelected(
  ctx: CommandContext,
  clicked?: unknown,
  selected?: unknown,
): Promise<MergePanel | undefined> {
  const all = (Array.isArray(selected) && selected.length > 0 ? selected : [clicked])
    .map(pathOf)
    .filter((p): p is string => !!p);
  return openPanelFor(ctx, all);
}

async function showLayerDiff(ctx: CommandContext, arg?: unknown): Promise<void> {
  const panel = [...MergePanel.open].find((p) => p.panel.active) ?? [...MergePanel.open][0];
  const reference = pathOf(arg);
  if (!reference && panel) return panel.showDiff();
  const models = ctx.catalog.analysis.models;
  const pick = async (title: string, exclude?: string) => {
    const group = exclude ? models.find((m) => m.path === exclude)?.group : undefined;
    const candidates = models.filter((m) => m.path !== exclude && (!group || m.group === group));
    const item = await vscode.window.showQuickPick(
      candidates.map((m) => ({ label: vscode.workspace.asRelativePath(m.path), path: m.path })),
      { title },
    );
    return item?.path;
  };
  const left = reference ?? (await pick("Per-Layer Diff: the reference model"));
  if (!left) return;
  const right = await pick(`Per-Layer Diff: which model's change from ${basename(left)}?`, left);
  if (right) await openLayerChanges(ctx.services.worker, right, left);
}

async function applyRecipe(ctx: CommandContext, arg?: unknown): Promise<ApplyOutcome | undefined> {
  if (!requireTrust()) return undefined;
  const recipe = pathOf(arg) ?? (await pickRecipe());
  if (!recipe) return undefined;
  const outcome = await applyRecipeFile(ctx.services, recipe);
  if (outcome) void announceApplied(outcome, openInViewer);
  return outcome;
}

function reportErrors<A extends unknown[], R>(output: vscode.LogOutputChannel, run: (...args: A) => Promise<R>) {
  return async (...args: A): Promise<R | undefined> => {
    try {
      return await run(...args);
    } catch (error) {
      // Cancelling is the user's choice, not a failure.
      if (error instanceof vscode.CancellationError) return undefined;
      const text = error instanceof Error ? error.message : String(error);
      output.error(text);
      void vscode.window.showErrorMessage(`Model Soup: ${text}`);
      return undefined;
    }
  };
}

export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  const { output, worker } = ctx.services;
  const register = <A extends unknown[], R>(id: string, run: (...args: A) => Promise<R> | R) =>
    vscode.commands.registerCommand(
      id,
      reportErrors(output, async (...args: A) => run(...args)),
    );
  return [
    register("modelSoup.mergeModels", (paths?: unknown) => mergeModels(ctx, paths)),
    register("modelSoup.mergeFolder", (folder?: vscode.Uri) => mergeFolder(ctx, folder)),
    register("modelSoup.mergeSelected", (clicked?: unknown, selected?: unknown) =>
      mergeSelected(ctx, clicked, selected),
    ),
    register("modelSoup.mergeGroup", (group?: GroupNode) =>
      group?.kind === "group"
        ? openPanelFor(
            ctx,
            group.children.map((c) => c.path),
          )
        : mergeModels(ctx),
    ),
    register("modelSoup.inspect", async (arg?: unknown) => {
      const path = pathOf(arg) ?? vscode.window.activeTextEditor?.document.uri.fsPath;
      if (path) await openInViewer(path);
    }),
    register("modelSoup.showLayerDiff", (arg?: unknown) => showLayerDiff(ctx, arg)),
    register("modelSoup.compareModels", (clicked?: unknown, selected?: unknown) =>
      compareModels(ctx.services, ctx.catalog, clicked, selected),
    ),
    register("modelSoup.applyRecipe", (arg?: unknown) => applyRecipe(ctx, arg)),
    register("modelSoup.restartWorker", () => {
      worker.restart();
      void vscode.window.showInformationMessage("Model Soup: the worker was restarted.");
    }),
    register("modelSoup.refreshModels", () => ctx.catalog.refresh()),
    register("modelSoup.showOutput", () => output.show()),
  ];
}
