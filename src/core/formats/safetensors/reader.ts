import { type FileHandle, open } from "node:fs/promises";
import { toFloat32, viewAs } from "../../convert.js";
import { ModelFileError } from "../../errors.js";
import type { ModelFile, ModelManifest, ReadOptions } from "../../model.js";
import type { Tensor } from "../../tensor.js";
import { type SafetensorsSet, type TensorLocation, readSafetensorsSet } from "./tensor-set.js";

export function manifestOf(set: SafetensorsSet): ModelManifest {
  const shardFiles = set.shards.map((s) => s.file);
  const metadata = { ...(set.shards[0]?.metadata ?? {}) };
  const warnings = [...set.warnings];
  const firstJson = JSON.stringify(set.shards[0]?.metadata ?? {});
  const differing = set.shards.find((s) => JSON.stringify(s.metadata ?? {}) !== firstJson);
  if (differing)
    warnings.push(
      `${differing.file} has a __metadata__ that differs from ${set.shards[0]!.file}'s; the first shard's is shown`,
    );
  return {
    path: set.path,
    format: "safetensors",
    files: set.index ? [set.index.file, ...shardFiles] : shardFiles,
    tensors: [...set.tensors.values()].map((l) => l.info),
    metadata,
    warnings,
  };
}

/** An open safetensors model: each tensor read on demand with one positioned read of exactly its bytes. */
export class SafetensorsReader implements ModelFile {
  readonly manifest: ModelManifest;
  private readonly handles = new Map<string, Promise<FileHandle>>();

  private constructor(readonly set: SafetensorsSet) {
    this.manifest = manifestOf(set);
  }

  static async open(path: string): Promise<SafetensorsReader> {
    return new SafetensorsReader(await readSafetensorsSet(path));
  }

  /** A reader over a set laid out by another format whose tensors lie as plain runs of bytes (a PyTorch zip). */
  static fromSet(set: SafetensorsSet): SafetensorsReader {
    return new SafetensorsReader(set);
  }

  location(name: string): TensorLocation {
    const location = this.set.tensors.get(name);
    if (!location) throw new ModelFileError(this.set.path, `has no tensor named "${name}"`);
    return location;
  }

  private handle(file: string): Promise<FileHandle> {
    let handle = this.handles.get(file);
    if (!handle) {
      handle = open(file, "r");
      this.handles.set(file, handle);
    }
    return handle;
  }

  /** The tensor's raw little-endian bytes, read into `into` when given (it must be large enough). */
  async readBytes(name: string, into?: Uint8Array): Promise<Uint8Array> {
    const { entry } = this.location(name);
    return this.readByteRange(name, 0, entry.end - entry.begin, into);
  }

  /** `length` bytes of the tensor's data from byte `start` of that data (for reading a large tensor in pieces). */
  async readByteRange(name: string, start: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    const { shard, entry } = this.location(name);
    if (start < 0 || length < 0 || start + length > entry.end - entry.begin) {
      throw new RangeError(
        `bytes ${start}..${start + length} are outside tensor "${name}" (${entry.end - entry.begin} bytes)`,
      );
    }
    const buffer = into ? into.subarray(0, length) : new Uint8Array(length);
    const handle = await this.handle(shard.file);
    const position = shard.dataStart + entry.begin + start;
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
      if (bytesRead === 0) {
        throw new ModelFileError(
          shard.file,
          `is truncated: tensor "${name}" needs bytes up to ${shard.dataStart + entry.end}`,
        );
      }
      done += bytesRead;
    }
    return buffer;
  }

  async readTensor(name: string, options: ReadOptions = {}): Promise<Tensor> {
    const { info } = this.location(name);
    const raw = viewAs(await this.readBytes(name), info.dtype, info.shape);
    if (!options.float32 || info.dtype === "float32") return { ...info, shape: [...info.shape], data: raw };
    return { ...info, shape: [...info.shape], dtype: "float32", data: toFloat32(raw, info.dtype) };
  }

  async close(): Promise<void> {
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(handles.map(async (h) => (await h.catch(() => undefined))?.close()));
  }
}
