/**
 * A PyTorch checkpoint seen as a one-shard safetensors set, so the streaming merge (src/core/merge/streaming)
 * reads it in pieces like a safetensors file: possible when every tensor is a contiguous run of a stored
 * (uncompressed) zip entry, as torch.save writes them. Offsets are absolute in the file (dataStart 0).
 */
import { statSync } from "node:fs";
import type { HeaderEntry, SafetensorsHeader } from "../safetensors/header.js";
import type { SafetensorsSet, TensorLocation } from "../safetensors/tensor-set.js";
import { SafetensorsReader } from "../safetensors/reader.js";
import { readTorchCheckpoint } from "./checkpoint.js";

export function streamableSet(path: string): SafetensorsSet | undefined {
  const checkpoint = readTorchCheckpoint(path);
  const tensors = [...checkpoint.tensors.values()];
  if (!tensors.every((t) => t.contiguous && t.entry.method === 0)) return undefined;
  const entries: HeaderEntry[] = tensors.map((t) => {
    const begin = t.entry.dataOffset + t.span.start;
    return { name: t.info.name, dtype: t.info.dtype, shape: [...t.info.shape], begin, end: begin + t.span.length };
  });
  const shard: SafetensorsHeader = {
    file: path,
    fileSize: statSync(path).size,
    dataStart: 0,
    metadata: { format: "pt" },
    entries,
  };
  const locations = new Map<string, TensorLocation>(
    tensors.map((t, i) => [t.info.name, { info: { ...t.info, shape: [...t.info.shape] }, shard, entry: entries[i]! }]),
  );
  return { path, shards: [shard], tensors: locations, warnings: [...checkpoint.warnings] };
}

export function streamableReader(path: string): SafetensorsReader | undefined {
  const set = streamableSet(path);
  return set && SafetensorsReader.fromSet(set);
}
