/**
 * Which files are models (the Model Explorer, "Merge Models in Folder" and the CLI's folder arguments): TF.js model.json files (any .json with a
 * weightsManifest), .keras, .h5/.hdf5, .safetensors, safetensors shard indexes and PyTorch checkpoints (.pt, .pth,
 * .ckpt, pytorch_model*.bin; other .bin files are TF.js shards or data); shards named by an
 * index are left out (the index stands for them). Reads only small JSON files, never tensor data.
 */
import { readFile, stat } from "node:fs/promises";
import { basename, dirname, extname, resolve } from "node:path";

export const MODEL_GLOB = "**/{*.json,*.keras,*.h5,*.hdf5,*.safetensors,*.pt,*.pth,*.ckpt,pytorch_model*.bin}";

const PYTORCH_CHECKPOINT = /\.(pt|pth|ckpt)$|^pytorch_model[^/\\]*\.bin$/i;

/** A TF.js model.json larger than this is read only up to here when looking for "weightsManifest". */
const MAX_JSON_BYTES = 64 * 1024 * 1024;

export function isShardIndex(path: string): boolean {
  return basename(path).endsWith(".safetensors.index.json");
}

async function readSmallJson(path: string): Promise<string | undefined> {
  const info = await stat(path).catch(() => undefined);
  if (!info || !info.isFile() || info.size > MAX_JSON_BYTES) return undefined;
  return readFile(path, "utf8").catch(() => undefined);
}

/** The shard files an index names (absolute), or none when it cannot be read (the reader will say why). */
async function shardsOf(index: string): Promise<string[]> {
  const text = await readSmallJson(index);
  if (!text) return [];
  try {
    const map = (JSON.parse(text) as { weight_map?: Record<string, unknown> }).weight_map;
    if (!map || typeof map !== "object") return [];
    return [...new Set(Object.values(map).filter((v): v is string => typeof v === "string"))].map((f) =>
      resolve(dirname(index), f),
    );
  } catch {
    return [];
  }
}

async function isTfjsModelJson(path: string): Promise<boolean> {
  const text = await readSmallJson(path);
  return text !== undefined && text.includes('"weightsManifest"');
}

/** The model files among `paths` (absolute), sorted. */
export async function modelCandidates(paths: readonly string[]): Promise<string[]> {
  const shards = new Set<string>();
  const kept: string[] = [];
  for (const path of paths) {
    const ext = extname(path).toLowerCase();
    if (isShardIndex(path)) {
      kept.push(path);
      for (const shard of await shardsOf(path)) shards.add(shard);
    } else if (ext === ".json") {
      if (await isTfjsModelJson(path)) kept.push(path);
    } else if ([".keras", ".h5", ".hdf5", ".safetensors"].includes(ext) || PYTORCH_CHECKPOINT.test(basename(path))) {
      kept.push(path);
    }
  }
  return kept.filter((p) => !shards.has(resolve(p))).sort();
}
