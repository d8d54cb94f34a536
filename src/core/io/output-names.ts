/**
 * Every name an output gets, decided here: the model file a folder output holds, the recipe beside a model,
 * and the shard files each writer puts beside its model file. The writers and the output guard both use them.
 */
import { basename } from "node:path";
import type { FormatId } from "../model.js";

const SAFETENSORS_INDEX = ".safetensors.index.json";

/** The file extensions of each format's model file, lower case. */
export const MODEL_EXTENSIONS: Record<FormatId, readonly string[]> = {
  "tfjs-layers": [".json"],
  keras: [".keras"],
  "keras-h5": [".h5", ".hdf5"],
  safetensors: [".safetensors", SAFETENSORS_INDEX],
  // A merged PyTorch model is safetensors unless the output names a state-dict .pt / .pth.
  pytorch: [".pt", ".pth"],
};

/**
 * The model file inside a folder output: model.json, model.keras, model.h5, model.safetensors[.index.json]
 * (PyTorch state dicts too: their merge is written as safetensors by default), model.pt for TorchScript
 * ingredients (their merge is a TorchScript archive, which runs as they do).
 */
export function modelFileNameInFolder(format: FormatId, sharded: boolean, torchScript = false): string {
  if (format === "safetensors") return sharded ? `model${SAFETENSORS_INDEX}` : "model.safetensors";
  if (format === "pytorch") return torchScript ? "model.pt" : "model.safetensors";
  return `model${MODEL_EXTENSIONS[format][0]}`;
}

/** The model format whose extension `path` has ("x.safetensors.index.json" is safetensors, not TF.js). */
export function formatOfExtension(path: string): FormatId | undefined {
  const name = basename(path).toLowerCase();
  if (name.endsWith(SAFETENSORS_INDEX)) return "safetensors";
  for (const [format, extensions] of Object.entries(MODEL_EXTENSIONS) as [FormatId, readonly string[]][]) {
    if (extensions.some((e) => name.endsWith(e))) return format;
  }
  return undefined;
}

export function isRecipeName(path: string): boolean {
  return basename(path).toLowerCase().endsWith(".recipe.json");
}

/** The recipe beside a model: "soup.keras" -> "soup.recipe.json"; "model.safetensors.index.json" -> "model.recipe.json". */
export function recipePathFor(modelPath: string): string {
  return `${modelPath.replace(/(\.safetensors\.index\.json|\.json|\.keras|\.h5|\.hdf5|\.safetensors|\.pt|\.pth)$/i, "")}.recipe.json`;
}

/** TF.js shard names for a target: "model.json" -> "group1-shard1of1.bin"; "soup.json" -> "soup.group1-shard1of1.bin". */
export function tfjsShardNames(target: string, group: number, count: number): string[] {
  const stem = basename(target).replace(/\.json$/i, "");
  const prefix = stem === "model" ? "" : `${stem}.`;
  return Array.from({ length: count }, (_, i) => `${prefix}group${group + 1}-shard${i + 1}of${count}.bin`);
}

/** A safetensors shard of a sharded output, as Hugging Face names them: NAME-0000k-of-0000n.safetensors. */
export function safetensorsShardName(base: string, k: number, n: number): string {
  const digits = Math.max(5, String(n).length);
  return `${base}-${String(k).padStart(digits, "0")}-of-${String(n).padStart(digits, "0")}.safetensors`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Names of the files a writer may create beside the model file `target` (shards), or undefined when none. */
export function siblingPattern(format: FormatId, target: string): RegExp | undefined {
  const name = basename(target);
  if (format === "tfjs-layers") {
    const stem = name.replace(/\.json$/i, "");
    return new RegExp(`^${escapeRegExp(stem === "model" ? "" : `${stem}.`)}group\\d+-shard\\d+of\\d+\\.bin$`);
  }
  if (format === "safetensors" && name.toLowerCase().endsWith(SAFETENSORS_INDEX)) {
    return new RegExp(
      `^${escapeRegExp(name.slice(0, name.length - SAFETENSORS_INDEX.length))}-\\d+-of-\\d+\\.safetensors$`,
    );
  }
  return undefined;
}
