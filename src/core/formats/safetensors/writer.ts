import { type FileHandle, open, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { type PendingFile, writeFilesAtomically } from "../../io/atomic.js";
import type { TensorSource, WriteOptions } from "../../model.js";
import { encodeTensorData } from "./encode.js";
import type { SafetensorsHeader } from "./header.js";
import { encodeHeader, layOut } from "./header-json.js";
import { type OutputPlan, planOutput, refuseOverwritingInputs } from "./output-plan.js";
import { SafetensorsReader } from "./reader.js";
import type { SafetensorsSet } from "./tensor-set.js";

async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

function shardMetadata(shard: SafetensorsHeader, extra: Record<string, string> | undefined): Record<string, unknown> | undefined {
  if (!shard.metadata && !extra) return undefined;
  return { ...shard.metadata, ...extra };
}

async function writeShard(
  tempPath: string,
  outputPath: string,
  template: SafetensorsReader,
  shard: SafetensorsHeader,
  source: TensorSource,
  options: WriteOptions,
): Promise<void> {
  const tensors = template.set.tensors;
  const entries = layOut(shard.entries.filter((e) => tensors.get(e.name)?.shard === shard));
  const header = encodeHeader(entries, shardMetadata(shard, options.metadata));
  const handle = await open(tempPath, "wx");
  try {
    await writeAll(handle, header, 0);
    for (const entry of entries) {
      const info = tensors.get(entry.name)!.info;
      const data = await source(info);
      const bytes = data === undefined ? await template.readBytes(entry.name) : encodeTensorData(outputPath, info, data);
      await writeAll(handle, bytes, header.length + entry.begin);
    }
  } finally {
    await handle.close();
  }
}

function indexJson(set: SafetensorsSet, plan: OutputPlan): string {
  const shardNames = new Map(set.shards.map((s, i) => [s, basename(plan.shards[i]!)]));
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (const name of set.index!.weightMap.keys()) {
    const { shard, entry } = set.tensors.get(name)!;
    weightMap[name] = shardNames.get(shard)!;
    totalSize += entry.end - entry.begin;
  }
  return `${JSON.stringify({ metadata: { ...set.index!.metadata, total_size: totalSize }, weight_map: weightMap }, null, 2)}\n`;
}

/**
 * Writes the template's layout with data from `source` (undefined keeps the template's bytes). `protect` lists
 * further models whose files must not be overwritten either (the other ingredients of a merge).
 */
export async function writeFromTemplate(
  template: SafetensorsReader,
  target: string,
  source: TensorSource,
  options: WriteOptions = {},
  protect: readonly SafetensorsSet[] = [],
): Promise<OutputPlan> {
  const set = template.set;
  const plan = await planOutput(set, target);
  await refuseOverwritingInputs(plan, [set, ...protect]);
  const files: PendingFile[] = set.shards.map((shard, i) => ({
    path: plan.shards[i]!,
    write: (temp) => writeShard(temp, plan.shards[i]!, template, shard, source, options),
  }));
  if (plan.index) {
    const index = plan.index;
    files.push({ path: index, write: (temp) => writeFile(temp, indexJson(set, plan), { flag: "wx" }) });
  }
  await writeFilesAtomically(files);
  return plan;
}

export async function writeSafetensors(
  template: string,
  target: string,
  source: TensorSource,
  options: WriteOptions = {},
): Promise<void> {
  const reader = await SafetensorsReader.open(template);
  try {
    await writeFromTemplate(reader, target, source, options);
  } finally {
    await reader.close();
  }
}
