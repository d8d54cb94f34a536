import { type FileHandle, open } from "node:fs/promises";
import { toFloat32, viewAs } from "../../convert.js";
import { ModelFileError } from "../../errors.js";
import { ZipArchive } from "../../io/zip.js";
import type { ModelFile, ModelManifest, ReadOptions } from "../../model.js";
import { BYTES_PER_ELEMENT, type Tensor, elementCount } from "../../tensor.js";
import { type TorchCheckpoint, type TorchTensor, readTorchCheckpoint } from "./checkpoint.js";

export function manifestOf(checkpoint: TorchCheckpoint): ModelManifest {
  return {
    path: checkpoint.path,
    format: "pytorch",
    files: [checkpoint.path],
    tensors: [...checkpoint.tensors.values()].map((t) => ({ ...t.info, shape: [...t.info.shape] })),
    metadata: { ...checkpoint.metadata },
    warnings: [...checkpoint.warnings],
  };
}

/** The elements of a strided view copied out in C order (`bytes` starts at the view's first element). */
function gather(bytes: Uint8Array, tensor: TorchTensor): Uint8Array {
  const { shape, stride } = tensor.ref;
  const width = BYTES_PER_ELEMENT[tensor.info.dtype];
  const count = elementCount(shape);
  const out = new Uint8Array(count * width);
  const index = new Array<number>(shape.length).fill(0);
  let source = 0;
  for (let k = 0; k < count; k++) {
    out.set(bytes.subarray(source * width, source * width + width), k * width);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) {
        source += stride[d]!;
        break;
      }
      source -= (shape[d]! - 1) * stride[d]!;
      index[d] = 0;
    }
  }
  return out;
}

/** An open PyTorch checkpoint: each tensor read on demand, one positioned read of the bytes its view spans. */
export class PytorchReader implements ModelFile {
  readonly manifest: ModelManifest;
  private handle: Promise<FileHandle> | undefined;

  private constructor(readonly checkpoint: TorchCheckpoint) {
    this.manifest = manifestOf(checkpoint);
  }

  static async open(path: string): Promise<PytorchReader> {
    return new PytorchReader(readTorchCheckpoint(path));
  }

  private tensor(name: string): TorchTensor {
    const tensor = this.checkpoint.tensors.get(name);
    if (!tensor) throw new ModelFileError(this.checkpoint.path, `has no tensor named "${name}"`);
    return tensor;
  }

  private async spanBytes(tensor: TorchTensor): Promise<Uint8Array> {
    const { entry, span } = tensor;
    const path = this.checkpoint.path;
    if (entry.method !== 0) {
      // A re-zipped (deflated) checkpoint: the storage is inflated whole, within the inflation ceiling.
      const zip = ZipArchive.open(path, "PyTorch zip checkpoint");
      try {
        return zip.read(entry).subarray(span.start, span.start + span.length);
      } finally {
        zip.close();
      }
    }
    this.handle ??= open(path, "r");
    const handle = await this.handle;
    const buffer = new Uint8Array(span.length);
    let done = 0;
    while (done < span.length) {
      const { bytesRead } = await handle.read(buffer, done, span.length - done, entry.dataOffset + span.start + done);
      if (bytesRead === 0)
        throw new ModelFileError(path, `is truncated: tensor "${tensor.info.name}" lies past its end`);
      done += bytesRead;
    }
    return buffer;
  }

  /** The tensor's raw little-endian bytes in C order (a strided view is copied out). */
  async readBytes(name: string): Promise<Uint8Array> {
    const tensor = this.tensor(name);
    const span = await this.spanBytes(tensor);
    return tensor.contiguous ? span : gather(span, tensor);
  }

  async readTensor(name: string, options: ReadOptions = {}): Promise<Tensor> {
    const { info } = this.tensor(name);
    const raw = viewAs(await this.readBytes(name), info.dtype, info.shape);
    if (!options.float32 || info.dtype === "float32") return { ...info, shape: [...info.shape], data: raw };
    return { ...info, shape: [...info.shape], dtype: "float32", data: toFloat32(raw, info.dtype) };
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await (await handle?.catch(() => undefined))?.close();
  }
}
