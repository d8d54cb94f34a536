import { createReadStream, createWriteStream } from "node:fs";
import { writeFile } from "node:fs/promises";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { crc32, createInflateRaw } from "node:zlib";
import { inflateSync } from "fflate";
import { ModelFileError } from "../errors.js";
import { type ByteSource, fileSource } from "./byte-source.js";
import { cannotOpen } from "./open.js";
import { MAX_DEFLATE_RATIO, inflateCeiling, inflateTooLarge } from "../formats/limits.js";

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  /** MS-DOS time and date as stored, kept when the archive is rewritten. */
  dosTime: number;
  dosDate: number;
  /** Where the entry's (compressed) bytes start. */
  dataOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** True when a file's first bytes are a zip local file header, as every zip with entries starts. */
export function isZipHead(head: Uint8Array): boolean {
  return head.length >= 4 && new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true) === LOCAL;
}

/** The first entry's name, from the first local header in a file's first bytes ("" when they do not hold it). */
export function firstEntryName(head: Uint8Array): string {
  if (!isZipHead(head) || head.length < 30) return "";
  const length = head[26]! | (head[27]! << 8);
  return new TextDecoder().decode(head.subarray(30, Math.min(head.length, 30 + length)));
}

/** Refuses names that could point outside an extraction folder: "..", absolute paths, drive letters. */
export function checkEntryName(file: string, name: string): void {
  const parts = name.split(/[\\/]/);
  if (/^([\\/]|[a-zA-Z]:)/.test(name) || parts.includes("..") || name.includes("\0")) {
    throw new ModelFileError(
      file,
      `has a zip entry "${name}" with an absolute path or ".."; expected relative names inside the archive`,
    );
  }
}

/** Up to `length` bytes at `position` (fewer at the end of the file), as a DataView. */
function readAt(source: ByteSource, position: number, length: number): DataView {
  const n = Math.max(0, Math.min(length, source.length - position));
  const bytes = n > 0 ? source.read(position, n) : new Uint8Array(0);
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function u64(view: DataView, at: number): number {
  return Number(view.getBigUint64(at, true));
}

function openSource(file: string): ByteSource {
  try {
    return fileSource(file);
  } catch (error) {
    throw cannotOpen(file, error);
  }
}

/**
 * An open zip archive: its entries, and their bytes on request. Reads are synchronous and go through one
 * source (a small archive is read in one call), so listing a .keras and reading its JSON entries costs a few
 * system calls rather than one open per entry.
 */
export class ZipArchive {
  private constructor(
    readonly file: string,
    private readonly source: ByteSource,
    readonly entries: ZipEntry[],
  ) {}

  /** `kind` names what the file should be in errors ("zip archive", ".npz (zip) archive"). */
  static open(file: string, kind = "zip archive"): ZipArchive {
    const source = openSource(file);
    try {
      return new ZipArchive(file, source, listEntries(file, source, kind));
    } catch (error) {
      source.close();
      throw error;
    }
  }

  /** An entry's bytes, inflated and checked against its CRC-32 (in memory: refused above the inflation ceiling). */
  read(entry: ZipEntry): Uint8Array {
    if (entry.method !== 0 && entry.size > inflateCeiling())
      throw inflateTooLarge(this.file, `zip entry "${entry.name}"`, entry.size);
    return entryBytes(this.file, entry, this.source.read(entry.dataOffset, entry.compressedSize));
  }

  close(): void {
    this.source.close();
  }
}

/** Lists a zip's entries from its central directory, checking every offset and size against the file size. */
function listEntries(file: string, source: ByteSource, kind: string): ZipEntry[] {
  const size = source.length;
  const bad = (what: string) => new ModelFileError(file, `is not a valid ${kind}: ${what}`);
  const tailLength = Math.min(size, 22 + 0xffff);
  const tail = readAt(source, size - tailLength, tailLength);
  let eocd = -1;
  for (let i = tail.byteLength - 22; i >= 0; i--) {
    if (tail.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw bad("no end-of-central-directory record (truncated or not a zip)");
  let count = tail.getUint16(eocd + 10, true);
  let directorySize = tail.getUint32(eocd + 12, true);
  let directoryOffset = tail.getUint32(eocd + 16, true);
  if (count === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    const locatorAt = eocd - 20;
    if (locatorAt < 0 || tail.getUint32(locatorAt, true) !== ZIP64_LOCATOR)
      throw bad("a zip64 archive without its locator");
    const zip64At = u64(tail, locatorAt + 8);
    if (zip64At + 56 > size) throw bad("the zip64 directory record lies beyond the end of the file");
    const zip64 = readAt(source, zip64At, 56);
    if (zip64.byteLength < 56 || zip64.getUint32(0, true) !== ZIP64_EOCD) throw bad("a damaged zip64 directory record");
    count = u64(zip64, 32);
    directorySize = u64(zip64, 40);
    directoryOffset = u64(zip64, 48);
  }
  if (directoryOffset + directorySize > size) {
    throw bad(
      `the central directory (${directorySize} bytes at ${directoryOffset}) lies beyond the file's ${size} bytes`,
    );
  }
  const directory = readAt(source, directoryOffset, directorySize);
  const entries: ZipEntry[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > directory.byteLength || directory.getUint32(at, true) !== CENTRAL)
      throw bad(`central directory entry ${i} is damaged`);
    const method = directory.getUint16(at + 10, true);
    const nameLength = directory.getUint16(at + 28, true);
    const extraLength = directory.getUint16(at + 30, true);
    const commentLength = directory.getUint16(at + 32, true);
    if (at + 46 + nameLength + extraLength > directory.byteLength)
      throw bad(`central directory entry ${i} is cut short`);
    const name = new TextDecoder().decode(new Uint8Array(directory.buffer, directory.byteOffset + at + 46, nameLength));
    let compressedSize = directory.getUint32(at + 20, true);
    let uncompressedSize = directory.getUint32(at + 24, true);
    let localOffset = directory.getUint32(at + 42, true);
    // zip64 extra field (id 1): the 64-bit values of whichever fields are saturated, in this order.
    for (let e = at + 46 + nameLength; e + 4 <= at + 46 + nameLength + extraLength;) {
      const id = directory.getUint16(e, true);
      const length = directory.getUint16(e + 2, true);
      if (id === 1) {
        let p = e + 4;
        if (uncompressedSize === 0xffffffff && p + 8 <= e + 4 + length) {
          uncompressedSize = u64(directory, p);
          p += 8;
        }
        if (compressedSize === 0xffffffff && p + 8 <= e + 4 + length) {
          compressedSize = u64(directory, p);
          p += 8;
        }
        if (localOffset === 0xffffffff && p + 8 <= e + 4 + length) localOffset = u64(directory, p);
      }
      e += 4 + length;
    }
    checkEntryName(file, name);
    const local = readAt(source, localOffset, 30);
    if (local.byteLength < 30 || local.getUint32(0, true) !== LOCAL)
      throw bad(`the local header of "${name}" is missing`);
    const dataOffset = localOffset + 30 + local.getUint16(26, true) + local.getUint16(28, true);
    if (dataOffset + compressedSize > size) {
      throw bad(`entry "${name}" (${compressedSize} bytes at ${dataOffset}) lies beyond the file's ${size} bytes`);
    }
    if (method !== 0 && method !== 8)
      throw bad(`entry "${name}" uses compression method ${method}; expected stored (0) or deflate (8)`);
    if (
      method === 0 ? uncompressedSize !== compressedSize : uncompressedSize > compressedSize * MAX_DEFLATE_RATIO + 1024
    ) {
      throw bad(`entry "${name}" declares ${uncompressedSize} bytes from ${compressedSize} stored bytes`);
    }
    entries.push({
      name,
      method,
      crc32: directory.getUint32(at + 16, true),
      compressedSize,
      size: uncompressedSize,
      dosTime: directory.getUint16(at + 12, true),
      dosDate: directory.getUint16(at + 14, true),
      dataOffset,
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function entryBytes(file: string, entry: ZipEntry, stored: Uint8Array | DataView): Uint8Array {
  const raw = new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength);
  let bytes: Uint8Array;
  try {
    // A stored entry may be a view into the source's cache: callers get bytes of their own.
    bytes = entry.method === 8 ? inflateSync(raw, { out: new Uint8Array(entry.size) }) : raw.slice();
  } catch (error) {
    throw new ModelFileError(file, `has a zip entry "${entry.name}" that cannot be inflated (${String(error)})`);
  }
  if (bytes.length !== entry.size || crc32(bytes) !== entry.crc32) {
    throw new ModelFileError(
      file,
      `has a damaged zip entry "${entry.name}" (size or CRC-32 differs from the directory)`,
    );
  }
  return bytes;
}

/**
 * Writes an entry to a file on disk, streamed (memory stays near one chunk whatever the entry's size). A deflated
 * entry is inflated against the size its directory declares (and the inflation ceiling): it is refused as soon as
 * it inflates past it, and checked against its CRC-32 at the end.
 */
export async function extractZipEntry(file: string, entry: ZipEntry, destination: string): Promise<void> {
  if (entry.method === 0) {
    if (entry.size === 0) {
      await writeFile(destination, new Uint8Array(0));
      return;
    }
    await pipeline(
      createReadStream(file, { start: entry.dataOffset, end: entry.dataOffset + entry.size - 1 }),
      createWriteStream(destination),
    );
    return;
  }
  if (entry.size > inflateCeiling()) throw inflateTooLarge(file, `zip entry "${entry.name}"`, entry.size);
  let written = 0;
  let crc = 0;
  const check = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      written += chunk.length;
      if (written > entry.size) {
        done(
          new ModelFileError(
            file,
            `has a zip entry "${entry.name}" that inflates past the ${entry.size} bytes its directory declares`,
          ),
        );
        return;
      }
      crc = crc32(chunk, crc);
      done(null, chunk);
    },
  });
  const compressed =
    entry.compressedSize === 0
      ? Readable.from([])
      : createReadStream(file, { start: entry.dataOffset, end: entry.dataOffset + entry.compressedSize - 1 });
  try {
    await pipeline(compressed, createInflateRaw(), check, createWriteStream(destination));
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    throw new ModelFileError(
      file,
      `has a zip entry "${entry.name}" that cannot be inflated (${(error as Error).message})`,
    );
  }
  if (written !== entry.size || crc !== entry.crc32) {
    throw new ModelFileError(
      file,
      `has a damaged zip entry "${entry.name}" (size or CRC-32 differs from the directory)`,
    );
  }
}
