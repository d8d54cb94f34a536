/**
 * Writes small safetensors files for tests, byte by byte as the format's specification says (8-byte little-endian
 * header length, JSON header, raw little-endian data), independently of Model Soup's own writer.
 */
import { writeFile } from "node:fs/promises";
import { mulberry32 } from "../../src/core/random.js";

export interface PlainTensor {
  shape: number[];
  data: Float32Array;
}

export async function writeSafetensors(
  path: string,
  tensors: Record<string, PlainTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  const names = Object.keys(tensors);
  for (const name of names) {
    const bytes = tensors[name]!.data.byteLength;
    header[name] = { dtype: "F32", shape: tensors[name]!.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += " ";
  const headerBytes = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const d = tensors[name]!.data;
    Buffer.from(d.buffer, d.byteOffset, d.byteLength).copy(out, at);
    at += d.byteLength;
  }
  await writeFile(path, out);
}

/** Deterministic values in [-1, 1) (seeded), so tests need no Math.random. */
export function seededValues(seed: number, count: number): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: count }, () => random() * 2 - 1);
}
