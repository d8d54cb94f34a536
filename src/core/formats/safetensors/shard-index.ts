import { readFile, stat } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { ModelFileError } from "../../errors.js";
import { compareNatural } from "./natural-order.js";
import { cannotOpen } from "../../io/open.js";
import { parseBoundedJson } from "../limits.js";

const MAX_INDEX_BYTES = 100_000_000;

/** model.safetensors.index.json: which shard holds each tensor. */
export interface ShardIndex {
  file: string;
  /** The index's own "metadata" object (total_size and whatever else the writer put there). */
  metadata: Record<string, unknown>;
  /** Tensor name -> shard file name relative to the index, in the index's order. */
  weightMap: Map<string, string>;
  /** Distinct shard file names, in natural order. */
  shards: string[];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkShardName(file: string, tensor: string, shard: unknown): string {
  if (typeof shard !== "string" || shard.length === 0) {
    throw new ModelFileError(
      file,
      `weight_map entry "${tensor}" should name a shard file, found ${JSON.stringify(shard)}`,
    );
  }
  if (isAbsolute(shard) || shard.split(/[\\/]/).includes("..")) {
    throw new ModelFileError(
      file,
      `weight_map entry "${tensor}" names shard "${shard}"; expected a file beside the index (no absolute path, no "..")`,
    );
  }
  return shard;
}

export async function readShardIndex(file: string): Promise<ShardIndex> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (error) {
    throw cannotOpen(file, error);
  }
  if (size > MAX_INDEX_BYTES) {
    throw new ModelFileError(
      file,
      `is ${size} bytes; expected a safetensors shard index of at most ${MAX_INDEX_BYTES} bytes`,
    );
  }
  let parsed: unknown;
  try {
    parsed = parseBoundedJson(file, "a shard index", await readFile(file, "utf8"));
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    throw new ModelFileError(
      file,
      `is not valid JSON; expected a safetensors shard index (${(error as Error).message})`,
    );
  }
  if (!isPlainObject(parsed))
    throw new ModelFileError(file, "is not a JSON object; expected a safetensors shard index");
  const rawMap = parsed["weight_map"];
  if (!isPlainObject(rawMap)) {
    throw new ModelFileError(
      file,
      'has no "weight_map" object; expected a safetensors shard index mapping tensor names to shard files',
    );
  }
  const weightMap = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(rawMap)) weightMap.set(tensor, checkShardName(file, tensor, shard));
  if (weightMap.size === 0) throw new ModelFileError(file, 'has an empty "weight_map"; expected at least one tensor');
  const rawMetadata = parsed["metadata"];
  if (rawMetadata !== undefined && !isPlainObject(rawMetadata)) {
    throw new ModelFileError(file, 'has a "metadata" that is not a JSON object');
  }
  const shards = [...new Set(weightMap.values())].sort(compareNatural);
  return { file, metadata: rawMetadata ?? {}, weightMap, shards };
}
