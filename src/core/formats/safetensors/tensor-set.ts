import { dirname, join } from "node:path";
import { ModelFileError } from "../../errors.js";
import type { TensorInfo } from "../../tensor.js";
import { type HeaderEntry, type SafetensorsHeader, readHeader, readHeaderOrSeeIndex } from "./header.js";
import { compareNatural } from "./natural-order.js";
import { type ShardIndex, readShardIndex } from "./shard-index.js";
import { requireInsideModelFolder } from "../limits.js";

export interface TensorLocation {
  info: TensorInfo;
  shard: SafetensorsHeader;
  entry: HeaderEntry;
}

/** One safetensors model: a single file, or an index with its shards, with every header read and checked. */
export interface SafetensorsSet {
  path: string;
  index?: ShardIndex;
  /** Shard headers in the index's shard order (one entry for a single file). */
  shards: SafetensorsHeader[];
  /** Every tensor, keyed by name, in natural name order. */
  tensors: Map<string, TensorLocation>;
  warnings: string[];
}

/** The layer of "model.layers.0.mlp.weight" is "model.layers.0.mlp"; a name without a dot is its own layer. */
export function layerOf(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(0, dot) : name;
}

function infoOf(entry: HeaderEntry): TensorInfo {
  return { name: entry.name, shape: entry.shape, dtype: entry.dtype, layer: layerOf(entry.name) };
}

function sortedByName(locations: TensorLocation[]): Map<string, TensorLocation> {
  locations.sort((a, b) => compareNatural(a.info.name, b.info.name));
  return new Map(locations.map((l) => [l.info.name, l]));
}

async function readShard(index: ShardIndex, shardName: string): Promise<SafetensorsHeader> {
  const shardPath = join(dirname(index.file), shardName);
  requireInsideModelFolder(index.file, shardPath, "shard");
  try {
    return await readHeader(shardPath);
  } catch (error) {
    if (error instanceof ModelFileError && /ENOENT/.test(error.expected)) {
      throw new ModelFileError(
        index.file,
        `names shard "${shardName}" in its weight_map, but ${shardPath} does not exist`,
      );
    }
    throw error;
  }
}

async function readSharded(path: string): Promise<SafetensorsSet> {
  const index = await readShardIndex(path);
  const shards = await Promise.all(index.shards.map((name) => readShard(index, name)));
  const byName = new Map(index.shards.map((name, i) => [name, shards[i]!]));
  const warnings: string[] = [];
  const locations: TensorLocation[] = [];
  for (const [tensor, shardName] of index.weightMap) {
    const shard = byName.get(shardName)!;
    const entry = shard.entries.find((e) => e.name === tensor);
    if (!entry) {
      throw new ModelFileError(
        path,
        `maps tensor "${tensor}" to shard "${shardName}", but ${shard.file} has no such tensor`,
      );
    }
    locations.push({ info: infoOf(entry), shard, entry });
  }
  for (const shard of shards) {
    const unlisted = shard.entries.filter((e) => index.weightMap.get(e.name) === undefined);
    if (unlisted.length > 0) {
      warnings.push(
        `${shard.file} holds ${unlisted.length} tensor(s) the index does not list (e.g. "${unlisted[0]!.name}"); they are ignored`,
      );
    }
  }
  return { path, index, shards, tensors: sortedByName(locations), warnings };
}

/** Reads a safetensors model's headers (never its tensor data). `path` is a .safetensors file or a shard index. */
export async function readSafetensorsSet(path: string): Promise<SafetensorsSet> {
  const header = await readHeaderOrSeeIndex(path, true);
  if (!header) return readSharded(path);
  const locations = header.entries.map((entry) => ({ info: infoOf(entry), shard: header, entry }));
  return { path, shards: [header], tensors: sortedByName(locations), warnings: [] };
}

/** Bytes of tensor data in the set (what the index records as metadata.total_size). */
export function totalDataBytes(set: SafetensorsSet): number {
  let total = 0;
  for (const { entry } of set.tensors.values()) total += entry.end - entry.begin;
  return total;
}
