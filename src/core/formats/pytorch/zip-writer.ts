/**
 * The zip layout torch's own writer (PyTorchStreamWriter) gives its archives: entries front to back, each entry's
 * data starting at a multiple of 64 bytes (padded with an extra field of id 0x4246, "FB"), no data descriptors,
 * no zip64 (the writers refuse outputs of 4 GiB or more). An entry is either stored bytes given whole, or filled
 * in place by the caller (stored, or an entry's compressed bytes copied as they are), its CRC-32 known after.
 */
import type { FileHandle } from "node:fs/promises";
import { crc32 } from "node:zlib";

export const ZIP_LIMIT = 0xffffffff;
export const ZIP_MAX_ENTRIES = 0xffff;
const ALIGN = 64;
const PAD_FIELD = 0x4246;
const DOS_DATE = ((2026 - 1980) << 9) | (1 << 5) | 1;
/** General-purpose flag bit 11: the name is UTF-8. */
const UTF8_NAME = 0x0800;

export async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/** What the local and central headers say of an entry; `crc` may be left for `fill` to return. */
export interface EntryHeader {
  name: string;
  /** 0 stored, 8 deflated (bytes copied as they are). */
  method: number;
  compressedSize: number;
  size: number;
  crc?: number;
  dosTime?: number;
  dosDate?: number;
}

interface Written {
  name: Uint8Array;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  dosTime: number;
  dosDate: number;
  offset: number;
}

/** Headers and data are both written at positions, so the local header can carry a CRC known only after the data. */
export class AlignedZipWriter {
  private position = 0;
  private readonly written: Written[] = [];
  private readonly encoder = new TextEncoder();

  constructor(private readonly handle: FileHandle) {}

  /** Bytes a header plus padding takes for an entry named `name` starting at `position`. */
  private headerLength(nameBytes: Uint8Array, position: number): number {
    const bare = 30 + nameBytes.length + 4;
    return bare + ((ALIGN - ((position + bare) % ALIGN)) % ALIGN);
  }

  /** A stored entry of `data`. */
  async add(name: string, data: Uint8Array): Promise<void> {
    await this.addEntry({ name, method: 0, compressedSize: data.length, size: data.length }, async (at) => {
      await writeAll(this.handle, data, at);
      return crc32(data);
    });
  }

  /**
   * An entry whose `compressedSize` bytes `fill` writes at the given file position (64-byte aligned), returning the
   * CRC-32 of the entry's uncompressed bytes unless the header gives it.
   */
  async addEntry(header: EntryHeader, fill: (dataPosition: number) => Promise<number | void>): Promise<void> {
    const nameBytes = this.encoder.encode(header.name);
    const flags = nameBytes.length !== header.name.length ? UTF8_NAME : 0;
    const length = this.headerLength(nameBytes, this.position);
    const pad = length - (30 + nameBytes.length + 4);
    const dataPosition = this.position + length;
    const filled = await fill(dataPosition);
    const crc = header.crc ?? filled;
    if (crc === undefined) throw new Error(`zip entry ${header.name} has no CRC-32`);
    const record: Written = {
      name: nameBytes,
      flags,
      method: header.method,
      crc: crc >>> 0,
      compressedSize: header.compressedSize,
      size: header.size,
      dosTime: header.dosTime ?? 0,
      dosDate: header.dosDate ?? DOS_DATE,
      offset: this.position,
    };
    const local = new Uint8Array(length);
    const v = new DataView(local.buffer);
    v.setUint32(0, 0x04034b50, true);
    v.setUint16(4, 20, true);
    v.setUint16(6, record.flags, true);
    v.setUint16(8, record.method, true);
    v.setUint16(10, record.dosTime, true);
    v.setUint16(12, record.dosDate, true);
    v.setUint32(14, record.crc, true);
    v.setUint32(18, record.compressedSize, true);
    v.setUint32(22, record.size, true);
    v.setUint16(26, nameBytes.length, true);
    v.setUint16(28, 4 + pad, true);
    local.set(nameBytes, 30);
    v.setUint16(30 + nameBytes.length, PAD_FIELD, true);
    v.setUint16(32 + nameBytes.length, pad, true);
    await writeAll(this.handle, local, this.position);
    this.written.push(record);
    this.position = dataPosition + header.compressedSize;
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
      v.setUint16(8, w.flags, true);
      v.setUint16(10, w.method, true);
      v.setUint16(12, w.dosTime, true);
      v.setUint16(14, w.dosDate, true);
      v.setUint32(16, w.crc, true);
      v.setUint32(20, w.compressedSize, true);
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
