import { ModelFileError } from "../errors.js";
import type { ModelFile, ModelFormat, ModelManifest, TensorSource, WriteOptions } from "../model.js";
import { refusePickle } from "./pickle.js";
import { kerasFormat } from "./keras-zip/index.js";
import { kerasH5Format } from "./keras-h5/index.js";
import { pytorchFormat } from "./pytorch/index.js";
import { safetensorsFormat } from "./safetensors/index.js";
import { tfjsLayersFormat } from "./tfjs-layers/index.js";
import { dirname, resolve } from "node:path";
import { readConsistently } from "../io/consistent-read.js";
import { readHead } from "../io/open.js";
import { guardOutputs, type ProtectedPath } from "../io/output-guard.js";
import { siblingPattern } from "../io/output-names.js";
import { requireRegularFile } from "./limits.js";
import { architectureAdvice, findFullModelFor, readArchitectureFile } from "./architecture-file.js";
import { type ArchitectureSource, isWeightsOnly } from "./weights-layout.js";
import { huggingFaceConfigIn } from "./pytorch/huggingface-folder.js";

export const FORMATS: readonly ModelFormat[] = [
  tfjsLayersFormat,
  kerasFormat,
  kerasH5Format,
  safetensorsFormat,
  pytorchFormat,
];

/** A format's label by its id ("Keras HDF5 (.h5)", or "Keras H5" when `short`); an unknown id as it is. */
export function formatLabel(id: string, short = false): string {
  const format = FORMATS.find((f) => f.id === id);
  return format ? (short ? format.shortLabel : format.label) : id;
}

/** A model's format label, a TorchScript archive named as one (its format is PyTorch's, read by its weights). */
export function modelFormatLabel(manifest: Pick<ModelManifest, "format" | "metadata">, short = false): string {
  if (manifest.format === "pytorch" && manifest.metadata.torchscript === true)
    return short ? "TorchScript" : "TorchScript (PyTorch .pt)";
  return formatLabel(manifest.format, short);
}

const HEAD_BYTES = 4096;

/** Finds a file's format from its content; refuses bare pickles and anything that is not a model Model Soup reads. */
export async function detectFormat(path: string): Promise<ModelFormat> {
  requireRegularFile(path);
  const head = await readHead(path, HEAD_BYTES);
  refusePickle(path, head);
  const format = FORMATS.find((f) => f.detect(path, head));
  if (!format) {
    throw new ModelFileError(
      path,
      "is not a model file Model Soup reads: expected a TF.js model.json, a Keras .keras or .h5 file, " +
        "a .safetensors file, a model.safetensors.index.json or a PyTorch .pt/.pth/.bin/.ckpt zip checkpoint",
    );
  }
  return format;
}

/** The manifest as the file's own format reads it, nothing looked up beside it. */
async function readOwnManifest(path: string): Promise<ModelManifest> {
  return (await detectFormat(path)).readManifest(path);
}

/** A model's manifest, never of a half-replaced output (io/consistent-read.ts). */
export function readManifest(path: string): Promise<ModelManifest> {
  return readConsistently(path, () => readManifestNow(path));
}

async function readManifestNow(path: string): Promise<ModelManifest> {
  const manifest = await readOwnManifest(path);
  if (manifest.format === "safetensors" || (manifest.format === "pytorch" && manifest.metadata.torchscript !== true)) {
    // A Hugging Face folder's config.json is a file of the model: hashed, guarded, copied into a folder soup.
    const config = await huggingFaceConfigIn(dirname(resolve(path)));
    if (config !== undefined) {
      manifest.files = [...manifest.files, config.path];
      manifest.metadata = {
        ...manifest.metadata,
        huggingFaceConfig: config.path,
        huggingFaceArchitecture: config.architecture,
      };
    }
  }
  if (isWeightsOnly(manifest)) {
    // Say which file to pass: the tree, inspect and every refusal show this warning.
    const advice = architectureAdvice(await findFullModelFor(manifest, readOwnManifest));
    manifest.warnings = [...manifest.warnings.filter((w) => !/architecture is unknown/.test(w)), advice];
  }
  return manifest;
}

/** `--architecture <file>`: a full model or a topology JSON, for weights-only checkpoints. */
export function readArchitecture(path: string): Promise<ArchitectureSource> {
  return readArchitectureFile(path, readOwnManifest);
}

/** The full model beside a weights-only checkpoint whose weights layout it has, if any. */
export function fullModelBeside(checkpoint: ModelManifest): Promise<string | undefined> {
  return findFullModelFor(checkpoint, readOwnManifest);
}

export async function openModel(path: string): Promise<ModelFile> {
  return (await detectFormat(path)).open(path);
}

/** Every file of the given models (model file, shards, sidecars), each protected as a file of that input. */
export async function filesOfModels(models: readonly string[], what = "input model"): Promise<ProtectedPath[]> {
  const out: ProtectedPath[] = [];
  for (const model of models) {
    for (const file of (await readManifest(model)).files) {
      out.push({
        path: file,
        role: resolve(file) === resolve(model) ? `the ${what} ${model}` : `${file}, a file of the ${what} ${model}`,
      });
    }
  }
  return out;
}

/** Writes `template` with its tensors replaced, in the template's format. Never overwrites an input file. */
export async function writeModel(
  template: string,
  target: string,
  source: TensorSource,
  options?: WriteOptions,
  protectedInputs: readonly string[] = [],
): Promise<void> {
  const format = await detectFormat(template);
  // The output guard (core/io/output-guard.ts) again at the writer, on the exact file and its shard names.
  const models = [...new Set([template, ...protectedInputs])];
  await guardOutputs(
    [{ path: target, what: "the merged model", siblings: siblingPattern(format.id, target) }],
    await filesOfModels(models),
  );
  await format.write(template, target, source, options);
}
