/**
 * Where the Save dialog proposes to write a merged model: in a sibling folder of the ingredients' common
 * folder, named after it ("models" → "models-soup"), so the merge never lands among its ingredients (where
 * the next folder merge would take it for one). No vscode: tested on its own.
 */
import { basename, dirname, join, sep } from "node:path";
import { PYTORCH_NAMES, isTorchScriptArchive } from "../core/formats/pytorch/index.js";
import { formatOfExtension, modelFileNameInFolder } from "../core/io/output-names.js";

/** The deepest folder that holds every path. */
export function commonFolder(paths: readonly string[]): string {
  const split = paths.map((p) => dirname(p).split(sep));
  const first = split[0] ?? [];
  let depth = first.length;
  for (const parts of split) {
    let i = 0;
    while (i < depth && parts[i] === first[i]) i++;
    depth = i;
  }
  return first.slice(0, depth).join(sep) || sep;
}

/** The model file a merge of `first`'s format is saved as: the name a folder output gets (core/io/output-names). */
export function mergedFileName(first: string): string {
  // Any PyTorch checkpoint (.ckpt, pytorch_model.bin too) is merged into safetensors by default, TorchScript into
  // TorchScript (model.pt), as the output target does.
  const format = PYTORCH_NAMES.test(first) ? "pytorch" : formatOfExtension(first);
  if (format === "pytorch" && torchScriptFile(first)) return modelFileNameInFolder(format, false, true);
  if (!format)
    throw new Error(
      `${first} has none of the model file extensions (.json, .keras, .h5, .hdf5, .safetensors, .pt, .pth, .ckpt, pytorch_model.bin)`,
    );
  return modelFileNameInFolder(format, first.toLowerCase().endsWith(".safetensors.index.json"));
}

/** True for a readable TorchScript archive (its zip directory read); a file that cannot be read is no TorchScript. */
function torchScriptFile(path: string): boolean {
  try {
    return isTorchScriptArchive(path);
  } catch {
    return false;
  }
}

export function defaultSaveTarget(models: readonly string[]): string {
  const folder = commonFolder(models);
  const parent = dirname(folder);
  const sibling = folder === parent ? join(folder, "soup") : join(parent, `${basename(folder)}-soup`);
  return join(sibling, mergedFileName(models[0]!));
}
