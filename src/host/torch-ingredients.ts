/**
 * What the Merge panel knows of PyTorch ingredients before anything runs: which are PyTorch models, and which can
 * run as they are (TorchScript files; Hugging Face folders, built from their config.json; state dicts whose
 * architecture a `model-soup.json` beside them records). A
 * state dict without one runs once the user names its architecture (`torchvision:<name>`, `<file.py>:<function>`,
 * `<module>:<callable>`); user code only in a trusted workspace. No vscode: tested in test/host/torch-ingredients.test.ts.
 */
import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { HUGGING_FACE_CONFIG } from "../core/formats/pytorch/huggingface-folder.js";
import { recordedArchitecture } from "../core/formats/pytorch/recorded-architecture.js";
import type { ModelManifest } from "../core/model.js";
import type { PythonWithTorch } from "../core/python/find-python.js";
import { torchArchitecture, withResolvedFile } from "../protocol/torch-architecture.js";

export interface TorchIngredients {
  /** Whether the ingredients are PyTorch models (torch.save or TorchScript archives, or safetensors a model-soup.json names). */
  pytorch: boolean;
  /** The paths of those that can run without an architecture given. */
  runnable: ReadonlySet<string>;
}

export async function torchIngredients(manifests: readonly ModelManifest[]): Promise<TorchIngredients> {
  const runnable = new Set<string>();
  let pytorch = false;
  const recorded = new Map<string, Promise<string | undefined>>();
  for (const m of manifests) {
    if (m.format !== "pytorch" && m.format !== "safetensors") continue;
    if (m.metadata.torchscript === true || typeof m.metadata.huggingFaceConfig === "string") {
      // TorchScript runs as it is; a Hugging Face folder's config.json gives its architecture (transformers builds it).
      pytorch = true;
      runnable.add(m.path);
      continue;
    }
    const folder = dirname(m.path);
    if (!recorded.has(folder))
      recorded.set(
        folder,
        recordedArchitecture(folder).catch(() => undefined),
      );
    const architecture = await recorded.get(folder);
    if (architecture !== undefined) runnable.add(m.path);
    if (m.format === "pytorch" || architecture !== undefined) pytorch = true;
  }
  return { pytorch, runnable };
}

/**
 * The PyTorch architecture the user typed, checked: its form, a Python file relative to `folder` resolved and
 * there, and user code (a file or a module) refused outside a trusted workspace. A one-line error otherwise.
 */
export function checkTorchArchitecture(
  typed: string,
  folder: string,
  trusted: boolean,
): { spec: string } | { error: string } {
  const spec = typed.trim();
  const given = torchArchitecture(spec);
  if (given === undefined)
    return {
      error: `"${spec}" is not torchvision:<name>, <file.py>:<function>, <module>:<callable> or huggingface:<folder>`,
    };
  // A Hugging Face folder runs transformers' own classes its config.json names, no code of the workspace's.
  if (given.kind !== "torchvision" && given.kind !== "huggingface" && !trusted)
    return { error: `${spec} runs your Python code: trust this workspace first, or name a torchvision:<name> model` };
  const resolved = withResolvedFile(given, (file) => (isAbsolute(file) ? file : resolve(folder, file)));
  if (resolved.kind === "file" && !existsSync(resolved.file)) return { error: `${resolved.file}: no such file` };
  if (resolved.kind === "huggingface" && !existsSync(join(resolved.folder, HUGGING_FACE_CONFIG)))
    return { error: `${resolved.folder}: no config.json there (a Hugging Face model folder holds one)` };
  return { spec: resolved.spec };
}

/** The backend the panel shows for PyTorch models: torch's version, its devices, the interpreter and where it was found. */
export function torchLabel(found: PythonWithTorch): string {
  return `PyTorch ${found.torchVersion} on ${found.devices.join(", ")} (${found.path}, from ${found.source})`;
}
