import { codeFromDtype } from "./dtypes.js";
import type { HeaderEntry } from "./header.js";

/**
 * The header as the reference implementation writes it: compact JSON, `__metadata__` first, tensors in data
 * order, padded with spaces so the data starts at a multiple of 8 bytes. Built by hand because a JS object
 * would move integer-like names ("0", "1") to the front.
 */
export function encodeHeader(
  entries: readonly HeaderEntry[],
  metadata: Record<string, unknown> | undefined,
): Uint8Array {
  const parts: string[] = [];
  if (metadata) parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  for (const e of entries) {
    parts.push(
      `${JSON.stringify(e.name)}:{"dtype":"${codeFromDtype(e.dtype)}","shape":${JSON.stringify(e.shape)},"data_offsets":[${e.begin},${e.end}]}`,
    );
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const padded = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

/** Offsets for the entries laid out contiguously in the given order (drops any entry not passed). */
export function layOut(entries: readonly HeaderEntry[]): HeaderEntry[] {
  let offset = 0;
  return entries.map((e) => {
    const size = e.end - e.begin;
    const placed = { ...e, begin: offset, end: offset + size };
    offset += size;
    return placed;
  });
}
