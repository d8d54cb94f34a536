/**
 * A soup of Hugging Face models written to a folder is a Hugging Face folder too: the first ingredient's
 * config.json copied byte for byte beside the merged weights (nothing inside it is read or followed), staged with
 * the model's files so that it appears with them or not at all (io/atomic.ts). A folder output is known by its
 * model file's name (the CLI hands on `--out soup/` resolved as soup/model.safetensors): model.safetensors or
 * model.safetensors.index.json, as a folder holds it; any other file name is written alone.
 */
import { copyFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { ModelFileError } from "../errors.js";
import { HUGGING_FACE_CONFIG, huggingFaceConfigIn } from "../formats/pytorch/huggingface-folder.js";
import { readManifest } from "../formats/registry.js";
import { writeFilesAtomically } from "../io/atomic.js";
import { canonicalPath } from "../io/output-guard.js";
import type { OutputTarget } from "../io/output-target.js";

const FOLDER_MODEL_NAMES = new Set(["model.safetensors", "model.safetensors.index.json"]);

/** The config.json a folder soup of `template` carries, or undefined (a file output, or no Hugging Face template). */
export async function huggingFaceConfigFor(target: OutputTarget, template: string): Promise<string | undefined> {
  if (target.format !== "safetensors" || !FOLDER_MODEL_NAMES.has(basename(target.model))) return undefined;
  const config = (await readManifest(template)).metadata.huggingFaceConfig;
  if (typeof config !== "string") return undefined;
  const destination = join(target.folder, HUGGING_FACE_CONFIG);
  const there = await stat(destination).catch(() => undefined);
  if (there !== undefined && (!there.isFile() || (await huggingFaceConfigIn(target.folder)) === undefined))
    throw new ModelFileError(
      destination,
      "refused as the merged model's config.json: a file that is not a Hugging Face config is there; move it or choose another output",
    );
  return config;
}

/** Stages the copy of `config` into the output folder; false when it is that very file (nothing to copy). */
export async function stageHuggingFaceConfig(config: string, target: OutputTarget): Promise<boolean> {
  const destination = join(target.folder, HUGGING_FACE_CONFIG);
  if ((await canonicalPath(destination)) === (await canonicalPath(config))) return false;
  await writeFilesAtomically([{ path: destination, write: (temp) => copyFile(config, temp) }]);
  return true;
}
