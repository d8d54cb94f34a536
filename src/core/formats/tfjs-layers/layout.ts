import { stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ModelFileError } from "../../errors.js";
import type { WeightEntry, WeightGroup } from "./model-json.js";
import { requireInsideModelFolder } from "../limits.js";

export interface Shard {
  /** As model.json writes it. */
  relative: string;
  /** Resolved against the model.json folder. */
  path: string;
  size: number;
}

/** Where a weight's bytes lie: a byte range of its group's shards read end to end. */
export interface Placement {
  entry: WeightEntry;
  group: number;
  offset: number;
}

export interface GroupLayout {
  shards: Shard[];
  placements: Placement[];
  byteLength: number;
}

async function statShard(file: string, group: number, index: number, count: number, relative: string): Promise<Shard> {
  const path = join(dirname(file), relative);
  requireInsideModelFolder(file, path, "weight shard");
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ModelFileError(
      file,
      `weight shard "${relative}" (group ${group + 1}, shard ${index + 1} of ${count}) is missing or unreadable (${code}); expected it at ${path}`,
    );
  }
  if (!info.isFile()) throw new ModelFileError(file, `weight shard "${relative}" at ${path} is not a file`);
  return { relative, path, size: info.size };
}

function describeShards(shards: Shard[]): string {
  return shards.map((s) => `"${s.relative}" (${s.size} bytes)`).join(", ");
}

/**
 * Places every weight in its group's shards and checks, with fs.stat only, that the shards hold exactly the
 * bytes the manifest describes (a short shard, a missing one, or a dtype/shape that disagrees with the data).
 */
export async function layOutGroups(file: string, groups: WeightGroup[]): Promise<GroupLayout[]> {
  return Promise.all(
    groups.map(async (group, g) => {
      const shards = await Promise.all(group.paths.map((p, i) => statShard(file, g, i, group.paths.length, p)));
      const placements: Placement[] = [];
      let offset = 0;
      for (const entry of group.entries) {
        placements.push({ entry, group: g, offset });
        offset += entry.byteLength;
      }
      const held = shards.reduce((sum, s) => sum + s.size, 0);
      if (held !== offset) {
        throw new ModelFileError(
          file,
          `weight shards of group ${g + 1} hold ${held} bytes (${describeShards(shards)}) but its ${group.entries.length} ` +
            `weights need ${offset} bytes by their shapes and dtypes; ` +
            (held < offset
              ? "a shard is truncated or missing data"
              : "the shards hold data the manifest does not describe"),
        );
      }
      return { shards, placements, byteLength: offset };
    }),
  );
}

/** The (shard, position, length) pieces that hold bytes [offset, offset + length) of a group. */
export function shardPieces(
  shards: readonly Shard[],
  offset: number,
  length: number,
): { shard: Shard; position: number; length: number }[] {
  const pieces = [];
  let start = 0;
  let remaining = length;
  let at = offset;
  for (const shard of shards) {
    const end = start + shard.size;
    if (remaining > 0 && at < end) {
      const position = at - start;
      const take = Math.min(remaining, shard.size - position);
      pieces.push({ shard, position, length: take });
      at += take;
      remaining -= take;
    }
    start = end;
  }
  return pieces;
}
