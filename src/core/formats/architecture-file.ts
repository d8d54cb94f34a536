/**
 * Where a weights-only checkpoint's architecture can come from: a full model of the same architecture (`.keras`,
 * `.h5`, `model.json`) or a topology JSON (`model.to_json()`, a bare or wrapped Keras model config); and the full
 * model beside a checkpoint that could be it.
 */
import { architectureWayOut } from "../../protocol/capability.js";
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { ModelFileError } from "../errors.js";
import { parseKerasModelConfig, unwrapModelConfig } from "../keras/config.js";
import type { ModelManifest } from "../model.js";
import { parseBoundedJson, requireRegularFile } from "./limits.js";
import { type ArchitectureSource, isWeightsOnly, layoutMismatch } from "./weights-layout.js";

export type ManifestReader = (path: string) => Promise<ModelManifest>;

const EXPECTED = "expected a full model (.keras, .h5, model.json) or a topology JSON of the same architecture";

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function fromManifest(manifest: ModelManifest): ArchitectureSource {
  if (!manifest.architecture)
    throw new ModelFileError(manifest.path, `records no architecture that can be rebuilt either; ${EXPECTED}`);
  const shapes = new Map<string, number[][]>();
  const byName = new Map(manifest.tensors.map((t) => [t.name, t.shape]));
  for (const l of manifest.architecture.layers)
    shapes.set(
      l.name,
      l.weights.map((w) => byName.get(w) ?? []),
    );
  return {
    path: manifest.path,
    architecture: manifest.architecture,
    shapes,
    ...(manifest.trainingConfig !== undefined ? { trainingConfig: manifest.trainingConfig } : {}),
  };
}

/** A topology JSON: a Keras model config, bare or as {model_config} / {modelTopology}, with no weights. */
function fromTopology(path: string, json: unknown): ArchitectureSource {
  if (!isObject(json)) throw new ModelFileError(path, `is not a JSON object; ${EXPECTED}`);
  const topology = isObject(json.modelTopology) ? json.modelTopology : json;
  const { modelConfig, trainingConfig } = unwrapModelConfig(topology);
  if (typeof modelConfig.class_name !== "string" || !("config" in modelConfig))
    throw new ModelFileError(path, `holds no Keras model config (class_name and config); ${EXPECTED}`);
  const version = topology.keras_version ?? json.keras_version;
  const architecture = parseKerasModelConfig(path, modelConfig, typeof version === "string" ? version : undefined);
  const training = trainingConfig ?? json.trainingConfig;
  return { path, architecture, ...(training !== undefined && training !== null ? { trainingConfig: training } : {}) };
}

/** Reads `--architecture <file>`; `read` reads a model file's manifest. */
export async function readArchitectureFile(path: string, read: ManifestReader): Promise<ArchitectureSource> {
  requireRegularFile(path);
  if (/\.json$/i.test(path)) {
    let json: unknown;
    try {
      json = parseBoundedJson(path, "an architecture", await readFile(path, "utf8"));
    } catch (error) {
      if (error instanceof ModelFileError) throw error;
      throw new ModelFileError(path, `is not valid JSON; ${EXPECTED}`);
    }
    // A TF.js model.json with its weights is a full model; without them (or unreadable), its topology still serves.
    if (isObject(json) && "weightsManifest" in json) {
      const manifest = await read(path).catch(() => undefined);
      if (manifest?.architecture) return fromManifest(manifest);
    }
    return fromTopology(path, json);
  }
  let manifest: ModelManifest;
  try {
    manifest = await read(path);
  } catch (error) {
    if (error instanceof ModelFileError && error.file === path)
      throw new ModelFileError(path, `cannot be the architecture: ${error.expected}`);
    throw error;
  }
  return fromManifest(manifest);
}

const MODEL_FILE = /\.(h5|hdf5|keras)$/i;
/** Bounds the files read when looking for a checkpoint's full model (the tree does this for every such file). */
const MAX_CANDIDATES = 24;

/**
 * Candidates read before, by path, size and modification time: a folder of N checkpoints is read once, not N times
 * (the Model Explorer reads every checkpoint's manifest).
 */
const candidates = new Map<string, Promise<ArchitectureSource | undefined>>();
const MAX_REMEMBERED = 512;

async function candidateSource(path: string, read: ManifestReader): Promise<ArchitectureSource | undefined> {
  let key: string;
  try {
    const s = await stat(path);
    key = `${resolve(path)}\u0000${s.size}\u0000${s.mtimeMs}`;
  } catch {
    return undefined;
  }
  let source = candidates.get(key);
  if (source === undefined) {
    if (candidates.size >= MAX_REMEMBERED) candidates.clear();
    source = read(path).then(
      (m) => (m.architecture ? fromManifest(m) : undefined),
      () => undefined,
    );
    candidates.set(key, source);
  }
  const found = await source;
  // The path as this checkpoint names it (relative stays relative).
  return found === undefined ? undefined : { ...found, path };
}

/**
 * A full model in the checkpoint's folder or the folder above whose weights layout the checkpoint has: the file to
 * pass as `--architecture`, named as the checkpoint's path is (relative stays relative).
 */
export async function findFullModelFor(checkpoint: ModelManifest, read: ManifestReader): Promise<string | undefined> {
  if (!isWeightsOnly(checkpoint)) return undefined;
  const own = resolve(checkpoint.path);
  const folders = [dirname(checkpoint.path), dirname(dirname(checkpoint.path))];
  let tried = 0;
  for (const folder of [...new Set(folders)]) {
    let names: string[];
    try {
      names = (await readdir(folder)).sort();
    } catch {
      continue;
    }
    for (const name of names.filter((n) => MODEL_FILE.test(n) || n === "model.json")) {
      const path = join(folder, name);
      if (resolve(path) === own || tried++ >= MAX_CANDIDATES) continue;
      const source = await candidateSource(path, read);
      if (source !== undefined && layoutMismatch(checkpoint, source) === undefined) return path;
    }
  }
  return undefined;
}

/** The line that tells what to pass for a weights-only checkpoint (with the full model beside it when one fits). */
export function architectureAdvice(candidate: string | undefined): string {
  // The panel words the same way out with its button (src/protocol/capability.ts).
  return architectureWayOut(candidate, "cli");
}
