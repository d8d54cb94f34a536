/**
 * Where the editor looks for the Python that runs PyTorch models, before the worker searches PATH and the system
 * folders (core/python/find-python.ts): the `modelSoup.python.path` setting, then the environment selected in the
 * Python extension, read through its published API (@vscode/python-extension). No extension, or one that fails to
 * answer, is no candidate: the search simply goes on.
 */
import { PVSC_EXTENSION_ID, PythonExtension } from "@vscode/python-extension";
import * as vscode from "vscode";
import type { FindPythonOptions } from "../core/python/find-python.js";
import { pythonPathSetting } from "./settings.js";

/** The Python extension's selected interpreter for this resource (a workspace folder or file), if it has one. */
export async function pythonExtensionInterpreter(resource?: vscode.Uri): Promise<string | undefined> {
  if (vscode.extensions.getExtension(PVSC_EXTENSION_ID) === undefined) return undefined;
  try {
    const api = await PythonExtension.api();
    const active = api.environments.getActiveEnvironmentPath(resource);
    const resolved = await api.environments.resolveEnvironment(active);
    return resolved?.executable.uri?.fsPath;
  } catch {
    return undefined;
  }
}

/** The candidates the editor adds to the worker's search, in order. */
export async function editorPythonCandidates(
  resource?: vscode.Uri,
): Promise<Pick<FindPythonOptions, "setting" | "pythonExtension">> {
  const setting = pythonPathSetting();
  const pythonExtension = await pythonExtensionInterpreter(resource);
  return {
    ...(setting !== undefined ? { setting } : {}),
    ...(pythonExtension !== undefined ? { pythonExtension } : {}),
  };
}
