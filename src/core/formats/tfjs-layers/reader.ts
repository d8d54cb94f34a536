import { type FileHandle, open } from "node:fs/promises";
import { toFloat32, viewAs } from "../../convert.js";
import { ModelFileError } from "../../errors.js";
import type { ModelFile, ReadOptions } from "../../model.js";
import type { Tensor, TensorArray } from "../../tensor.js";
import { dequantize } from "./dequantize.js";
import { shardPieces } from "./layout.js";
import { type TfjsModel, readTfjsModel } from "./manifest.js";

/** Reads one weight's bytes (and only those) from its shards; a weight may span shard boundaries. */
export class TfjsModelFile implements ModelFile {
  private readonly handles = new Map<string, Promise<FileHandle>>();
  private readonly layerOf: Map<string, string>;

  private constructor(readonly model: TfjsModel) {
    this.layerOf = new Map(model.manifest.tensors.map((t) => [t.name, t.layer]));
  }

  static async open(path: string): Promise<TfjsModelFile> {
    return new TfjsModelFile(await readTfjsModel(path));
  }

  get manifest() {
    return this.model.manifest;
  }

  private handle(path: string): Promise<FileHandle> {
    let handle = this.handles.get(path);
    if (!handle) {
      handle = open(path, "r").catch((error: NodeJS.ErrnoException) => {
        this.handles.delete(path);
        throw new ModelFileError(path, `weight shard cannot be opened (${error.code ?? String(error)})`);
      });
      this.handles.set(path, handle);
    }
    return handle;
  }

  /** The stored bytes of a weight (quantized bytes for quantized weights). */
  async readBytes(name: string): Promise<Uint8Array> {
    const placement = this.model.placements.get(name);
    if (!placement) {
      throw new ModelFileError(this.model.manifest.path, `has no weight named "${name}"`);
    }
    const { entry, group, offset } = placement;
    const layout = this.model.layouts[group]!;
    const bytes = new Uint8Array(entry.byteLength);
    let filled = 0;
    for (const piece of shardPieces(layout.shards, offset, entry.byteLength)) {
      const handle = await this.handle(piece.shard.path);
      const { bytesRead } = await handle.read(bytes, filled, piece.length, piece.position);
      if (bytesRead !== piece.length) {
        throw new ModelFileError(
          piece.shard.path,
          `ended after ${piece.position + bytesRead} bytes while reading weight "${name}"; expected ${piece.shard.size} bytes (was it changed since the model was opened?)`,
        );
      }
      filled += piece.length;
    }
    return bytes;
  }

  async readTensor(name: string, options?: ReadOptions): Promise<Tensor> {
    const bytes = await this.readBytes(name);
    const { entry } = this.model.placements.get(name)!;
    let data: TensorArray = entry.quantization ? dequantize(entry, bytes) : viewAs(bytes, entry.dtype, entry.shape);
    let dtype = entry.dtype;
    if (options?.float32 && dtype !== "float32") {
      data = toFloat32(data, dtype);
      dtype = "float32";
    }
    return { name, shape: entry.shape, dtype, layer: this.layerOf.get(name) ?? "", data };
  }

  async close(): Promise<void> {
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(handles.map((h) => h.then((f) => f.close()).catch(() => undefined)));
  }
}
