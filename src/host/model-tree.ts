/** The Model Explorer tree view: groups of compatible models, lone models and unreadable files. */
import * as vscode from "vscode";
import type { ModelCatalog } from "./model-catalog.js";
import {
  buildTree,
  mergesNodeOf,
  type GroupNode,
  type MergesNode,
  type ModelNode,
  type TreeNode,
} from "./tree-nodes.js";

export class ModelTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private nodes: GroupNode[] = [];
  /** One "Merges" node per group that has merges (kept so getParent and reveal find the same object). */
  private mergesNodes = new Map<string, MergesNode>();
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(catalog: ModelCatalog) {
    this.subscription = catalog.onDidChange((analysis) => {
      this.nodes = buildTree(
        analysis,
        (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
        catalog.merges,
      );
      this.mergesNodes = new Map(
        this.nodes.flatMap((g) => {
          const node = mergesNodeOf(g);
          return node ? [[g.id, node] as const] : [];
        }),
      );
      this.changed.fire(undefined);
    });
  }

  /** The current top-level nodes (for tests and for commands that pick a group). */
  get groups(): readonly GroupNode[] {
    return this.nodes;
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    if (node.kind === "group") {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `group:${node.id}`;
      item.description = node.description;
      item.tooltip = node.tooltip;
      item.contextValue = node.mergeable ? "modelSoup.group.mergeable" : "modelSoup.group";
      item.iconPath = new vscode.ThemeIcon(
        node.mergeable ? "layers" : node.id === "unreadable" ? "error" : "warning",
        node.mergeable
          ? undefined
          : new vscode.ThemeColor(node.id === "unreadable" ? "errorForeground" : "list.warningForeground"),
      );
      return item;
    }
    if (node.kind === "merges") {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `merges:${node.id}`;
      item.description = node.description;
      item.tooltip =
        "Models Model Soup merged from this group (recognised by their recipe). They are not ingredients of the next merge.";
      item.contextValue = "modelSoup.merges";
      item.iconPath = new vscode.ThemeIcon("merge");
      return item;
    }
    return modelItem(node);
  }

  getChildren(node?: TreeNode): TreeNode[] {
    if (!node) return this.nodes;
    if (node.kind === "group") {
      const merges = this.mergesNodes.get(node.id);
      return merges ? [...node.children, merges] : node.children;
    }
    if (node.kind === "merges") return node.children;
    return node.merge?.ingredients ?? [];
  }

  getParent(node: TreeNode): TreeNode | undefined {
    if (node.kind === "group") return undefined;
    if (node.kind === "merges") return this.nodes.find((g) => this.mergesNodes.get(g.id) === node);
    const group = this.nodes.find((g) => g.children.includes(node));
    if (group) return group;
    const merges = [...this.mergesNodes.values()].find((m) => m.children.includes(node));
    if (merges) return merges;
    return [...this.mergesNodes.values()].flatMap((m) => m.children).find((m) => m.merge?.ingredients.includes(node));
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}

function modelItem(node: ModelNode): vscode.TreeItem {
  const uri = vscode.Uri.file(node.path);
  const item = new vscode.TreeItem(
    node.label,
    node.merge ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
  );
  item.id = node.referenceOf ? `ingredient:${node.referenceOf}>${node.path}` : `model:${node.path}`;
  item.resourceUri = uri;
  item.description = node.description;
  item.tooltip = node.tooltip;
  item.contextValue = node.readable ? "modelSoup.model.readable" : "modelSoup.model.unreadable";
  item.iconPath = new vscode.ThemeIcon(
    node.readable
      ? node.problem
        ? "circle-slash"
        : node.merge
          ? "merge"
          : node.referenceOf
            ? "arrow-small-right"
            : "symbol-method"
      : "error",
  );
  item.command = { command: "modelSoup.inspect", title: "Inspect", arguments: [uri] };
  return item;
}
