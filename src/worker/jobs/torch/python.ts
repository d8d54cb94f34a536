/**
 * The Python a PyTorch job runs: the one `--python` names (and only it), else the first that imports torch of the
 * editor's candidates (setting, Python extension), PATH and the system folders.
 */
import { findPythonWithTorch, type FindPythonOptions, type PythonWithTorch } from "../../../core/python/find-python.js";
import type { PythonCandidates } from "../../../protocol/worker.js";

export async function jobPython(
  python: string | undefined,
  candidates: PythonCandidates = {},
  search: Pick<FindPythonOptions, "pathEnv" | "systemFolders"> = {},
): Promise<PythonWithTorch> {
  // What the user named is what runs: a --python without torch is refused, not silently replaced by another.
  if (python !== undefined) return findPythonWithTorch({ python, pathEnv: "", systemFolders: [] });
  return findPythonWithTorch({
    ...(candidates.setting !== undefined ? { setting: candidates.setting } : {}),
    ...(candidates.pythonExtension !== undefined ? { pythonExtension: candidates.pythonExtension } : {}),
    ...search,
  });
}
