/**
 * Writes a merged PyTorch model: safetensors by default (the target ends in .safetensors), or a state-dict .pt zip
 * that `torch.load(path, weights_only=True)` reads (the target ends in .pt or .pth). Either way one tensor at a
 * time: each is asked of the source, encoded, written at its place and let go.
 */
import { type FileHandle, open } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { writeFilesAtomically } from "../../io/atomic.js";
import { UsageError } from "../../errors.js";
import type { TensorSource, WriteOptions } from "../../model.js";
import { BYTES_PER_ELEMENT, type TensorInfo, elementCount } from "../../tensor.js";
import { encodeTensorData } from "../safetensors/encode.js";
import { encodeHeader, layOut } from "../safetensors/header-json.js";
import { stateDictPickle, storageClassOf } from "./pickle-writer.js";
import { PytorchReader } from "./reader.js";

/** The bytes of one output tensor: the source's values, or the template's own when the source keeps them. */
type TensorBytes = (info: TensorInfo) => Promise<Uint8Array>;

async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

const sizeOf = (info: TensorInfo) => elementCount(info.shape) * BYTES_PER_ELEMENT[info.dtype];

async function writeSafetensorsFile(
  temp: string,
  tensors: readonly TensorInfo[],
  bytesOf: TensorBytes,
  metadata: Record<string, string>,
): Promise<void> {
  const entries = layOut(
    tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, begin: 0, end: sizeOf(t) })),
  );
  const header = encodeHeader(entries, metadata);
  const handle = await open(temp, "wx");
  try {
    await writeAll(handle, header, 0);
    for (let i = 0; i < tensors.length; i++)
      await writeAll(handle, await bytesOf(tensors[i]!), header.length + entries[i]!.begin);
  } finally {
    await handle.close();
  }
}

const ZIP_LIMIT = 0xffffffff;
const ALIGN = 64;
/** The extra-field id torch's own zip writer pads with so that storages start at multiples of 64 bytes. */
const PAD_FIELD = 0x4246;
const DOS_DATE = ((2026 - 1980) << 9) | (1 << 5) | 1;

interface Written {
  name: Uint8Array;
  crc: number;
  size: number;
  offset: number;
}

/** A zip of stored entries written front to back, each entry's data aligned to 64 bytes (as torch.save does). */
class StoredZipWriter {
  private position = 0;
  private readonly written: Written[] = [];
  private readonly encoder = new TextEncoder();

  constructor(private readonly handle: FileHandle) {}

  async add(name: string, data: Uint8Array): Promise<void> {
    const nameBytes = this.encoder.encode(name);
    const crc = crc32(data);
    const bare = 30 + nameBytes.length + 4;
    const pad = (ALIGN - ((this.position + bare) % ALIGN)) % ALIGN;
    const header = new Uint8Array(bare + pad);
    const v = new DataView(header.buffer);
    v.setUint32(0, 0x04034b50, true);
    v.setUint16(4, 20, true);
    v.setUint16(12, DOS_DATE, true);
    v.setUint32(14, crc, true);
    v.setUint32(18, data.length, true);
    v.setUint32(22, data.length, true);
    v.setUint16(26, nameBytes.length, true);
    v.setUint16(28, 4 + pad, true);
    header.set(nameBytes, 30);
    v.setUint16(30 + nameBytes.length, PAD_FIELD, true);
    v.setUint16(32 + nameBytes.length, pad, true);
    this.written.push({ name: nameBytes, crc, size: data.length, offset: this.position });
    await writeAll(this.handle, header, this.position);
    await writeAll(this.handle, data, this.position + header.length);
    this.position += header.length + data.length;
  }

  async finish(): Promise<void> {
    const parts: Uint8Array[] = [];
    let size = 0;
    for (const w of this.written) {
      const record = new Uint8Array(46 + w.name.length);
      const v = new DataView(record.buffer);
      v.setUint32(0, 0x02014b50, true);
      v.setUint16(4, 20, true);
      v.setUint16(6, 20, true);
      v.setUint16(14, DOS_DATE, true);
      v.setUint32(16, w.crc, true);
      v.setUint32(20, w.size, true);
      v.setUint32(24, w.size, true);
      v.setUint16(28, w.name.length, true);
      v.setUint32(42, w.offset, true);
      record.set(w.name, 46);
      parts.push(record);
      size += record.length;
    }
    const end = new Uint8Array(22);
    const v = new DataView(end.buffer);
    v.setUint32(0, 0x06054b50, true);
    v.setUint16(8, this.written.length, true);
    v.setUint16(10, this.written.length, true);
    v.setUint32(12, size, true);
    v.setUint32(16, this.position, true);
    parts.push(end);
    for (const part of parts) {
      await writeAll(this.handle, part, this.position);
      this.position += part.length;
    }
  }
}

const ARCHIVE = "archive";

async function writeStateDictZip(temp: string, target: string, tensors: readonly TensorInfo[], bytesOf: TensorBytes) {
  for (const t of tensors) {
    if (storageClassOf(t.dtype) === undefined)
      throw new UsageError(
        `${target}: tensor "${t.name}" is ${t.dtype}, which a PyTorch state dict cannot hold; write .safetensors`,
      );
  }
  const total = tensors.reduce((sum, t) => sum + sizeOf(t) + 256, 0);
  if (total >= ZIP_LIMIT || tensors.length + 3 > 0xffff)
    throw new UsageError(
      `${target}: the model is too large for the .pt writer (4 GiB, 65,535 tensors); write .safetensors`,
    );
  const handle = await open(temp, "wx");
  try {
    const zip = new StoredZipWriter(handle);
    await zip.add(`${ARCHIVE}/data.pkl`, stateDictPickle(tensors));
    await zip.add(`${ARCHIVE}/byteorder`, new TextEncoder().encode("little"));
    for (let i = 0; i < tensors.length; i++) await zip.add(`${ARCHIVE}/data/${i}`, await bytesOf(tensors[i]!));
    await zip.add(`${ARCHIVE}/version`, new TextEncoder().encode("3\n"));
    await zip.finish();
  } finally {
    await handle.close();
  }
}

export function isStateDictTarget(target: string): boolean {
  return /\.(pt|pth)$/i.test(target);
}

export async function writePytorch(
  template: string,
  target: string,
  source: TensorSource,
  options: WriteOptions = {},
): Promise<void> {
  const asStateDict = isStateDictTarget(target);
  if (!asStateDict && !/\.safetensors$/i.test(target))
    throw new UsageError(
      `${target}: a merged PyTorch model is written as .safetensors (the default) or as a .pt / .pth state dict`,
    );
  const reader = await PytorchReader.open(template);
  try {
    const tensors = reader.manifest.tensors;
    const bytesOf: TensorBytes = async (info) => {
      const data = await source(info);
      return data === undefined ? reader.readBytes(info.name) : encodeTensorData(target, info, data);
    };
    await writeFilesAtomically([
      {
        path: target,
        write: (temp) =>
          asStateDict
            ? writeStateDictZip(temp, target, tensors, bytesOf)
            : writeSafetensorsFile(temp, tensors, bytesOf, { format: "pt", ...options.metadata }),
      },
    ]);
  } finally {
    await reader.close();
  }
}
