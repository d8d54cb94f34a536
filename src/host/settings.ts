/** The extension's settings, read where they are used so changes apply to the next job. */
import * as vscode from "vscode";
import type { BackendChoice } from "../protocol/panel.js";

function section() {
  return vscode.workspace.getConfiguration("modelSoup");
}

/** The Node runtime for the worker; undefined means the editor's own. */
export function workerNodePath(): string | undefined {
  const value = section().get<string>("worker.nodePath", "").trim();
  return value === "" ? undefined : value;
}

export function backendSetting(): BackendChoice {
  return section().get<BackendChoice>("backend", "auto");
}

/** The `modelSoup.python.path` setting; undefined when empty. */
export function pythonPathSetting(): string | undefined {
  const value = section().get<string>("python.path", "").trim();
  return value === "" ? undefined : value;
}

export function scanExclude(): string {
  return section().get<string>("scan.exclude", "**/{node_modules,.git,.venv,venv,__pycache__}/**");
}
