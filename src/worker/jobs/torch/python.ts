/** The Python a PyTorch job runs: the one `--python` names (and only it), else the first that imports torch. */
import { findPythonWithTorch, type PythonWithTorch } from "../../../core/python/find-python.js";

export async function jobPython(python: string | undefined): Promise<PythonWithTorch> {
  // What the user named is what runs: a --python without torch is refused, not silently replaced by another.
  if (python !== undefined) return findPythonWithTorch({ python, pathEnv: "", systemFolders: [] });
  return findPythonWithTorch();
}
