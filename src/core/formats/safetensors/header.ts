import { ModelFileError } from "../../errors.js";
import { BYTES_PER_ELEMENT, type DType, elementCount } from "../../tensor.js";
import { looksLikeSafetensorsFile } from "./detect.js";
import { SAFETENSORS_DTYPE_CODES, dtypeFromCode } from "./dtypes.js";
import { openForReading } from "../../io/open.js";
import { parseBoundedJson } from "../limits.js";

/** The reference implementation refuses headers above 100 MB; so do we, before allocating. */
export const MAX_HEADER_BYTES = 100_000_000;
const FIRST_READ_BYTES = 64 * 1024;

export interface HeaderEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** Byte offsets relative to the start of the data section (after the 8-byte length and the header). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  file: string;
  fileSize: number;
  /** Absolute offset of the data section: 8 + header length. */
  dataStart: number;
  /** `__metadata__` as the file has it, when present. */
  metadata?: Record<string, unknown>;
  /** Tensors in the order of their data in the file. */
  entries: HeaderEntry[];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function parseEntry(file: string, name: string, raw: unknown): HeaderEntry {
  const where = `tensor "${name}" in the safetensors header`;
  if (!isPlainObject(raw))
    throw new ModelFileError(file, `${where} should be an object with dtype, shape and data_offsets`);
  const code = raw["dtype"];
  const dtype = typeof code === "string" ? dtypeFromCode(code) : undefined;
  if (!dtype) {
    throw new ModelFileError(
      file,
      `${where} has unknown dtype ${JSON.stringify(code)}; expected one of ${SAFETENSORS_DTYPE_CODES.join(", ")}`,
    );
  }
  const shape = raw["shape"];
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new ModelFileError(
      file,
      `${where} has shape ${JSON.stringify(shape)}; expected an array of non-negative integers`,
    );
  }
  const offsets = raw["data_offsets"];
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    throw new ModelFileError(
      file,
      `${where} has data_offsets ${JSON.stringify(offsets)}; expected [begin, end] with 0 <= begin <= end`,
    );
  }
  const count = elementCount(shape);
  const bytes = count * BYTES_PER_ELEMENT[dtype];
  if (!Number.isSafeInteger(bytes)) {
    throw new ModelFileError(file, `${where} has shape ${JSON.stringify(shape)}, too large to be stored in any file`);
  }
  const [begin, end] = offsets as [number, number];
  if (end - begin !== bytes) {
    throw new ModelFileError(
      file,
      `${where} has data_offsets [${begin}, ${end}] (${end - begin} bytes); expected ${bytes} bytes for shape ` +
        `${JSON.stringify(shape)} of ${code}`,
    );
  }
  return { name, dtype, shape: [...shape], begin, end };
}

/** The data must be one contiguous run from offset 0 to the end of the file, as the reference writes it. */
function checkLayout(file: string, entries: HeaderEntry[], dataStart: number, fileSize: number): void {
  let expected = 0;
  let previous: HeaderEntry | undefined;
  for (const entry of entries) {
    if (entry.begin < expected) {
      throw new ModelFileError(
        file,
        `tensor "${entry.name}" (bytes ${entry.begin}..${entry.end}) overlaps tensor "${previous!.name}" ` +
          `(bytes ${previous!.begin}..${previous!.end}); expected tensors to occupy disjoint byte ranges`,
      );
    }
    if (entry.begin > expected) {
      throw new ModelFileError(
        file,
        `tensor "${entry.name}" starts at data byte ${entry.begin} but the previous tensor ends at ${expected}; ` +
          "expected tensor data without gaps",
      );
    }
    expected = entry.end;
    previous = entry;
  }
  const needed = dataStart + expected;
  if (needed > fileSize) {
    const last = entries[entries.length - 1]!;
    throw new ModelFileError(
      file,
      `is truncated: tensor "${last.name}" ends at byte ${needed} but the file has ${fileSize} bytes`,
    );
  }
  if (needed < fileSize) {
    throw new ModelFileError(
      file,
      `has ${fileSize - needed} bytes after the last tensor's data; expected the file to end at byte ${needed}`,
    );
  }
}

/** Parses and checks the JSON header of a safetensors file of `fileSize` bytes. */
export function parseHeader(file: string, headerBytes: Uint8Array, fileSize: number): SafetensorsHeader {
  const dataStart = 8 + headerBytes.length;
  if (headerBytes[0] !== 0x7b) {
    throw new ModelFileError(file, "has a safetensors header that does not start with '{'; expected a JSON object");
  }
  let parsed: unknown;
  try {
    parsed = parseBoundedJson(
      file,
      "a safetensors header",
      new TextDecoder("utf-8", { fatal: true }).decode(headerBytes),
    );
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    throw new ModelFileError(
      file,
      `has a safetensors header that is not valid UTF-8 JSON (${(error as Error).message})`,
    );
  }
  if (!isPlainObject(parsed)) throw new ModelFileError(file, "has a safetensors header that is not a JSON object");
  let metadata: Record<string, unknown> | undefined;
  const entries: HeaderEntry[] = [];
  for (const [name, value] of Object.entries(parsed)) {
    if (name === "__metadata__") {
      if (!isPlainObject(value)) {
        throw new ModelFileError(file, "has a __metadata__ that is not a JSON object; expected string keys and values");
      }
      metadata = value;
      continue;
    }
    entries.push(parseEntry(file, name, value));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  checkLayout(file, entries, dataStart, fileSize);
  return { file, fileSize, dataStart, metadata, entries };
}

/** Reads only the header of a safetensors file (usually one read call) and checks it against the file size. */
export async function readHeader(file: string): Promise<SafetensorsHeader> {
  const header = await readHeaderOrSeeIndex(file, false);
  return header!;
}

/** A JSON text starts with '{' where a safetensors file starts with its 8-byte length. */
function startsLikeJson(first: Uint8Array): boolean {
  const text = new TextDecoder("latin1").decode(first.subarray(0, 16)).trimStart();
  return text.startsWith("{") && !looksLikeSafetensorsFile(first);
}

/**
 * Like readHeader, with the file opened once: returns undefined, without parsing, when the file is a JSON
 * text (a shard index) and `allowIndex` is set.
 */
export async function readHeaderOrSeeIndex(file: string, allowIndex: boolean): Promise<SafetensorsHeader | undefined> {
  const handle = await openForReading(file);
  try {
    const fileSize = (await handle.stat()).size;
    if (fileSize < 8) {
      throw new ModelFileError(
        file,
        `is truncated: ${fileSize} bytes; expected at least the 8-byte safetensors header length`,
      );
    }
    const first = new Uint8Array(Math.min(fileSize, FIRST_READ_BYTES));
    const { bytesRead } = await handle.read(first, 0, first.length, 0);
    if (allowIndex && startsLikeJson(first.subarray(0, bytesRead))) return undefined;
    if (bytesRead < 8) throw new ModelFileError(file, "is truncated: cannot read its 8-byte safetensors header length");
    const length = new DataView(first.buffer).getBigUint64(0, true);
    if (length > BigInt(fileSize - 8)) {
      throw new ModelFileError(
        file,
        `declares a safetensors header of ${length} bytes but the file has only ${fileSize - 8} bytes after the length`,
      );
    }
    const headerLength = Number(length);
    if (headerLength > MAX_HEADER_BYTES) {
      throw new ModelFileError(
        file,
        `declares a safetensors header of ${headerLength} bytes; expected at most ${MAX_HEADER_BYTES}`,
      );
    }
    let headerBytes: Uint8Array;
    if (8 + headerLength <= bytesRead) {
      headerBytes = first.subarray(8, 8 + headerLength);
    } else {
      headerBytes = new Uint8Array(headerLength);
      headerBytes.set(first.subarray(8, bytesRead));
      const rest = headerLength - (bytesRead - 8);
      const { bytesRead: more } = await handle.read(headerBytes, bytesRead - 8, rest, bytesRead);
      if (more !== rest) throw new ModelFileError(file, "is truncated inside its safetensors header");
    }
    return parseHeader(file, headerBytes, fileSize);
  } finally {
    await handle.close();
  }
}
