import { open, realpath } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { bytesOf, fromFloat32 } from "../../convert.js";
import { ModelFileError, UsageError } from "../../errors.js";
import { type PendingFile, writeFilesAtomically } from "../../io/atomic.js";
import { tfjsShardNames } from "../../io/output-names.js";
import type { TensorSource } from "../../model.js";
import type { DType, TensorArray, TensorInfo } from "../../tensor.js";
import { isObject, type WeightEntry } from "./model-json.js";
import { TfjsModelFile } from "./reader.js";

/** Bytes per element as written: quantized weights are written unquantized in their original dtype. */
function writtenBytes(entry: WeightEntry): number {
  let n = 1;
  for (const d of entry.shape) n *= d;
  return n * (entry.dtype === "bool" ? 1 : 4);
}

function arrayMatches(values: TensorArray, dtype: DType): boolean {
  if (dtype === "float32") return values instanceof Float32Array;
  if (dtype === "int32") return values instanceof Int32Array;
  return values instanceof Uint8Array;
}

function encode(info: TensorInfo, values: TensorArray, expected: number): Uint8Array {
  if (values.length !== expected) {
    throw new UsageError(
      `tensor "${info.name}": got ${values.length} values, expected ${expected} for shape [${info.shape.join(", ")}]`,
    );
  }
  if (arrayMatches(values, info.dtype)) return bytesOf(values);
  if (values instanceof Float32Array) return bytesOf(fromFloat32(values, info.dtype));
  throw new UsageError(
    `tensor "${info.name}": got a ${values.constructor.name}, expected a Float32Array or the ${info.dtype} storage array`,
  );
}

/** Yields a group's bytes tensor by tensor, so each shard takes exactly its share (tensors may span shards). */
class GroupStream {
  private pending: Uint8Array = new Uint8Array(0);
  private next = 0;

  constructor(private readonly produce: (index: number) => Promise<Uint8Array | undefined>) {}

  async take(max: number): Promise<Uint8Array | undefined> {
    while (this.pending.length === 0) {
      const chunk = await this.produce(this.next++);
      if (!chunk) return undefined;
      this.pending = chunk;
    }
    const out = this.pending.subarray(0, max);
    this.pending = this.pending.subarray(out.length);
    return out;
  }
}

async function writeShard(tempPath: string, size: number, stream: GroupStream): Promise<void> {
  const file = await open(tempPath, "wx");
  try {
    let written = 0;
    while (written < size) {
      const chunk = await stream.take(size - written);
      if (!chunk) throw new Error(`internal: weight data ran out after ${written} of ${size} bytes`);
      await file.write(chunk, 0, chunk.length);
      written += chunk.length;
    }
  } finally {
    await file.close();
  }
}

async function canonical(path: string): Promise<string> {
  return realpath(path).catch(() => resolve(path));
}

/**
 * Writes a TF.js layers model at `target`: the template's model.json with only its weightsManifest paths
 * changed (plus optimizer entries dropped and quantized weights stored unquantized), and new shards named
 * after the target, split at the template's shard size. Shards first, model.json last; never over a
 * template file.
 */
export async function writeTfjsModel(template: string, target: string, source: TensorSource): Promise<void> {
  const model = await TfjsModelFile.open(template);
  try {
    const { json } = model.model.modelJson;
    const inputs = new Set(await Promise.all(model.manifest.files.map(canonical)));
    const folder = dirname(target);
    const layerOf = new Map(model.manifest.tensors.map((t) => [t.name, t.layer]));
    const rawGroups = json.weightsManifest as Record<string, unknown>[];
    const pending: PendingFile[] = [];
    const newGroups: Record<string, unknown>[] = [];

    for (const [g, layout] of model.model.layouts.entries()) {
      const kept = layout.placements.map((p) => p.entry).filter((e) => !e.optimizer);
      if (kept.length === 0) continue;
      const sizes = kept.map(writtenBytes);
      const total = sizes.reduce((a, b) => a + b, 0);
      const limit = layout.shards.length > 1 ? Math.max(1, layout.shards[0]!.size) : Math.max(1, total);
      const count = Math.max(1, Math.ceil(total / limit));
      const names = tfjsShardNames(target, newGroups.length, count);
      const stream = new GroupStream(async (index) => {
        const entry = kept[index];
        if (!entry) return undefined;
        const info: TensorInfo = {
          name: entry.name,
          shape: entry.shape,
          dtype: entry.dtype,
          layer: layerOf.get(entry.name) ?? "",
        };
        const elements = sizes[index]! / (entry.dtype === "bool" ? 1 : 4);
        const values = (await source(info)) ?? (await model.readTensor(entry.name)).data;
        return encode(info, values, elements);
      });
      for (const [i, name] of names.entries()) {
        const path = join(folder, name);
        if (inputs.has(await canonical(path))) {
          throw new ModelFileError(
            target,
            `would write weight shard ${path}, which is a file of the template model; choose another output name`,
          );
        }
        const size = Math.min(limit, total - i * limit);
        pending.push({ path, write: (temp) => writeShard(temp, size, stream) });
      }
      const weights = kept.map((e) => {
        const { quantization: _dropped, ...rest } = e.raw;
        return e.quantization ? rest : e.raw;
      });
      newGroups.push({ ...(isObject(rawGroups[g]) ? rawGroups[g] : {}), paths: names, weights });
    }

    if (inputs.has(await canonical(target))) {
      throw new ModelFileError(
        target,
        "is a file of the template model; choose another output path (inputs are never modified)",
      );
    }
    const text = JSON.stringify({ ...json, weightsManifest: newGroups });
    pending.push({
      path: target,
      write: async (temp) => {
        const file = await open(temp, "wx");
        try {
          await file.writeFile(text, "utf8");
        } finally {
          await file.close();
        }
      },
    });
    await writeFilesAtomically(pending);
  } finally {
    await model.close();
  }
}
