import { type FileHandle, open, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { type PendingFile, writeFilesAtomically } from "../../io/atomic.js";
import { UsageError } from "../../errors.js";
import type { TensorSource, WriteOptions } from "../../model.js";
import type { TensorArray, TensorInfo } from "../../tensor.js";
import { type ScratchFor, encodeTensorData, encodeValues } from "./encode.js";
import type { SafetensorsHeader } from "./header.js";
import { encodeHeader, layOut } from "./header-json.js";
import { type OutputPlan, planOutput, refuseOverwritingInputs } from "./output-plan.js";
import { SafetensorsReader } from "./reader.js";
import type { SafetensorsSet } from "./tensor-set.js";

/**
 * Writes one piece of a tensor (consecutive elements, float32 or the dtype's storage) after the previous one.
 * The next piece may be given before the returned promise settles only when pieces are float32 for a float32
 * tensor or already the dtype's storage (they are then written where they lie, not through shared scratch),
 * and the tensor's function must not return before every write settled.
 */
export type PieceSink = (values: Float32Array | TensorArray) => Promise<void>;

/** A tensor whose data is produced piece by piece, so a large tensor never has to be in memory whole. */
export type StreamedTensor = (write: PieceSink) => Promise<void>;

/** Like TensorSource, but a tensor may also be streamed in pieces. */
export type StreamingTensorSource = (
  info: TensorInfo,
) => Promise<Float32Array | TensorArray | StreamedTensor | undefined>;

const COPY_PIECE_BYTES = 16 * 1024 * 1024;

function growingScratch(): ScratchFor {
  let buffer = new Uint8Array(0);
  return (bytes) => {
    if (buffer.length < bytes) buffer = new Uint8Array(bytes);
    return buffer;
  };
}

async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

function shardMetadata(
  shard: SafetensorsHeader,
  extra: Record<string, string> | undefined,
): Record<string, unknown> | undefined {
  if (!shard.metadata && !extra) return undefined;
  return { ...shard.metadata, ...extra };
}

async function writeShard(
  tempPath: string,
  outputPath: string,
  template: SafetensorsReader,
  shard: SafetensorsHeader,
  source: StreamingTensorSource,
  options: WriteOptions,
): Promise<void> {
  const tensors = template.set.tensors;
  const entries = layOut(shard.entries.filter((e) => tensors.get(e.name)?.shard === shard));
  const header = encodeHeader(entries, shardMetadata(shard, options.metadata));
  const handle = await open(tempPath, "wx");
  const scratch = growingScratch();
  try {
    await writeAll(handle, header, 0);
    for (const entry of entries) {
      const info = tensors.get(entry.name)!.info;
      const position = header.length + entry.begin;
      const size = entry.end - entry.begin;
      const data = await source(info);
      if (data === undefined) {
        for (let done = 0; done < size; done += COPY_PIECE_BYTES) {
          const length = Math.min(COPY_PIECE_BYTES, size - done);
          await writeAll(
            handle,
            await template.readByteRange(entry.name, done, length, scratch(length)),
            position + done,
          );
        }
      } else if (typeof data === "function") {
        let done = 0;
        await data(async (piece) => {
          const bytes = encodeValues(outputPath, info, piece, scratch);
          if (done + bytes.length > size) {
            throw new UsageError(`${outputPath}: tensor "${info.name}" was given more than its ${size} bytes of data`);
          }
          // Placed before the write starts, so a caller may start the next piece's write before this one ends.
          const at = done;
          done += bytes.length;
          await writeAll(handle, bytes, position + at);
        });
        if (done !== size)
          throw new UsageError(`${outputPath}: tensor "${info.name}" was given ${done} of its ${size} bytes of data`);
      } else {
        await writeAll(handle, encodeTensorData(outputPath, info, data), position);
      }
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
 * Writes the template's layout with data from `source` (undefined keeps the template's bytes; a function
 * streams the tensor in pieces). `protect` lists further models whose files must not be overwritten either
 * (the other ingredients of a merge).
 */
export async function writeFromTemplate(
  template: SafetensorsReader,
  target: string,
  source: StreamingTensorSource,
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
