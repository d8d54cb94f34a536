/**
 * What an output path given by the user (`--out`, the editor's save dialog, a recipe's output) means:
 * - a path ending in the ingredients' format's extension (model.json / x.json for TF.js, .keras, .h5/.hdf5,
 *   .safetensors, NAME.safetensors.index.json for a sharded safetensors model) is that model file;
 * - an existing folder, a path ending in "/", or a path without an extension is a folder that holds the model
 *   under its format's usual name (model.json + shards, model.keras, model.h5, model.safetensors[.index.json],
 *   model.pt for TorchScript ingredients);
 * - PyTorch ingredients may also be written as .safetensors; a .pt / .pth output is a TorchScript archive when the
 *   template is one, else a state dict;
 * the recipe goes beside the model file (recipePathFor). Anything else is refused, saying what was expected.
 */
import { stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import { UsageError } from "../errors.js";
import { detectFormat, formatLabel } from "../formats/registry.js";
import { isTorchScriptArchive } from "../formats/pytorch/index.js";
import type { FormatId } from "../model.js";
import {
  formatOfExtension,
  MODEL_EXTENSIONS,
  modelFileNameInFolder,
  isRecipeName,
  recipePathFor,
  siblingPattern,
} from "./output-names.js";

export interface OutputTarget {
  /** The model file to write (absolute). */
  model: string;
  /** The recipe written beside it (absolute). */
  recipe: string;
  format: FormatId;
  /** "folder" when the path named a folder that holds the model. */
  form: "file" | "folder";
  /** The folder the files are written into (made when missing). */
  folder: string;
  /** Names of the shard files the writer may create beside `model` in `folder`. */
  siblings?: RegExp;
}

export interface TemplateKind {
  format: FormatId;
  /** A sharded safetensors template: the output is sharded too. */
  sharded: boolean;
  /** A TorchScript template: a .pt output (and a folder's model.pt) is a TorchScript archive like it. */
  torchScript: boolean;
}

/** The output format, and whether a safetensors output is sharded, follow the template (the first ingredient). */
export async function templateKind(template: string): Promise<TemplateKind> {
  const format = (await detectFormat(template)).id;
  return {
    format,
    sharded: format === "safetensors" && template.toLowerCase().endsWith(".safetensors.index.json"),
    torchScript: format === "pytorch" && isTorchScriptArchive(template),
  };
}

function expectedExtensions({ format, sharded, torchScript }: TemplateKind): string {
  if (torchScript) return ".pt / .pth (TorchScript, as the ingredients) or .safetensors (the weights alone)";
  if (format === "pytorch") return ".safetensors (the default) or .pt / .pth (a state dict)";
  if (format === "safetensors")
    return sharded ? "NAME.safetensors.index.json (the ingredients are sharded)" : ".safetensors";
  return MODEL_EXTENSIONS[format].join(" or ");
}

/** Resolves an output path for a model written from `template`; refuses empty, ambiguous or mismatched paths. */
export async function resolveOutputTarget(out: string, template: string): Promise<OutputTarget> {
  if (out.trim() === "")
    throw new UsageError(
      'the output path (--out) is empty; expected a folder or a model file path such as "merged/model.json"',
    );
  const kind = await templateKind(template);
  const { format, sharded } = kind;
  const path = resolve(out);
  const existing = await stat(path).catch(() => undefined);
  const namesFolder = out.endsWith("/") || out.endsWith(sep);
  if (existing?.isDirectory() || (!existing && (namesFolder || extname(path) === ""))) {
    const model = join(path, modelFileNameInFolder(format, sharded, kind.torchScript));
    return {
      model,
      recipe: recipePathFor(model),
      format: format === "pytorch" && !kind.torchScript ? "safetensors" : format,
      form: "folder",
      folder: path,
      siblings: siblingPattern(format, model),
    };
  }
  if (existing && !existing.isFile())
    throw new UsageError(`the output ${out} exists and is neither a folder nor a regular file`);
  if (namesFolder || extname(path) === "")
    throw new UsageError(`the output ${out} exists and is a file, not a folder; name a folder or a model file`);
  if (isRecipeName(path))
    throw new UsageError(
      `the output ${out} names a recipe; name the model file (its recipe is written beside it) or a folder`,
    );
  const named = formatOfExtension(path);
  // PyTorch ingredients are written as safetensors, or as a .pt state dict when the output says so.
  const pytorchAsSafetensors =
    format === "pytorch" && named === "safetensors" && !path.toLowerCase().endsWith(".safetensors.index.json");
  const fits =
    pytorchAsSafetensors ||
    (named === format &&
      (format !== "safetensors" || sharded === path.toLowerCase().endsWith(".safetensors.index.json")));
  if (!fits) {
    throw new UsageError(
      `the output ${out} does not end in the ingredients' format's extension: the ingredients are ${formatLabel(format, true)} models, ` +
        `so expected ${expectedExtensions(kind)}, or a folder (a new folder whose name has a dot: end it with "/")`,
    );
  }
  return {
    model: path,
    recipe: recipePathFor(path),
    format: pytorchAsSafetensors ? "safetensors" : format,
    form: "file",
    folder: resolve(path, ".."),
    siblings: siblingPattern(format, path),
  };
}
