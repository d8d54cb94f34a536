/** The Model Explorer tree view: groups of compatible models, lone models and unreadable files. */
import * as vscode from "vscode";
import type { ModelCatalog } from "./model-catalog.js";
import { buildTree, type GroupNode, type ModelNode, type TreeNode } from "./tree-nodes.js";

export class ModelTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private nodes: GroupNode[] = [];
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly catalog: ModelCatalog) {
    this.subscription = catalog.onDidChange((analysis) => {
      this.nodes = buildTree(analysis, (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath));
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
        node.mergeable ? undefined : new vscode.ThemeColor(node.id === "unreadable" ? "errorForeground" : "list.warningForeground"),
      );
      return item;
    }
    return modelItem(node);
  }

  getChildren(node?: TreeNode): TreeNode[] {
    if (!node) return this.nodes;
    return node.kind === "group" ? node.children : [];
  }

  getParent(node: TreeNode): TreeNode | undefined {
    return node.kind === "model" ? this.nodes.find((g) => g.children.includes(node)) : undefined;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}

function modelItem(node: ModelNode): vscode.TreeItem {
  const uri = vscode.Uri.file(node.path);
  const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
  item.id = `model:${node.path}`;
  item.resourceUri = uri;
  item.description = node.description;
  item.tooltip = node.tooltip;
  item.contextValue = node.readable ? "modelSoup.model.readable" : "modelSoup.model.unreadable";
  item.iconPath = new vscode.ThemeIcon(node.readable ? (node.problem ? "circle-slash" : "symbol-method") : "error");
  item.command = { command: "modelSoup.inspect", title: "Inspect", arguments: [uri] };
  return item;
}
