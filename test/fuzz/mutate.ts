/** Seeded mutations: byte-level (flips, cuts, overwrites) and structure-aware (JSON trees, zip entries, YAML). */
import { crc32, deflateRawSync } from "node:zlib";
import { unzipSync, zipSync } from "fflate";

export type Random = () => number;

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function int(random: Random, below: number): number {
  return Math.floor(random() * below);
}

const INTERESTING_U32 = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

/** One of several byte-level damages, at seeded places. */
export function mutateBytes(random: Random, input: Uint8Array): { bytes: Uint8Array<ArrayBuffer>; what: string } {
  const bytes = new Uint8Array(input);
  const at = int(random, Math.max(1, bytes.length));
  switch (int(random, 6)) {
    case 0: {
      const n = 1 + int(random, 16);
      for (let i = 0; i < n; i++) bytes[int(random, bytes.length)] ^= 1 << int(random, 8);
      return { bytes, what: `${n} bit flip(s)` };
    }
    case 1:
      return { bytes: bytes.subarray(0, at), what: `truncated at ${at}` };
    case 2: {
      const tail = new Uint8Array(1 + int(random, 4096)).map(() => int(random, 256));
      const out = new Uint8Array(bytes.length + tail.length);
      out.set(bytes);
      out.set(tail, bytes.length);
      return { bytes: out, what: `${tail.length} random bytes appended` };
    }
    case 3: {
      const n = Math.min(bytes.length - at, 1 + int(random, 256));
      bytes.fill(pick(random, [0, 0xff]), at, at + n);
      return { bytes, what: `${n} bytes at ${at} filled` };
    }
    case 4: {
      const view = new DataView(bytes.buffer);
      const p = Math.min(at, Math.max(0, bytes.length - 8));
      if (bytes.length >= 8) view.setUint32(p, pick(random, INTERESTING_U32), true);
      return { bytes, what: `u32 at ${p} overwritten` };
    }
    default: {
      const n = Math.min(bytes.length - at, 1 + int(random, 512));
      for (let i = 0; i < n; i++) bytes[at + i] = int(random, 256);
      return { bytes, what: `${n} random bytes at ${at}` };
    }
  }
}

const DEEP = 50_000;

/** Replacement values that stress a reader: wrong types, huge and negative numbers, deep nesting, long strings. */
function hostileValue(random: Random): { value: unknown; raw?: string; what: string } {
  switch (int(random, 11)) {
    case 0:
      return { value: null, what: "null" };
    case 1:
      return { value: -1, what: "-1" };
    case 2:
      return { value: 1e300, what: "1e300" };
    case 3:
      return { value: 2 ** 53 + 2, what: "2^53+2" };
    case 4:
      return { value: "x".repeat(1 + int(random, 100)), what: "a string" };
    case 5:
      return { value: [], what: "[]" };
    case 6:
      return { value: {}, what: "{}" };
    case 7:
      return { value: [2 ** 31, 2 ** 31], what: "a huge shape" };
    case 8:
      return { value: 0, what: "0" };
    case 9:
      return { value: undefined, raw: `${"[".repeat(DEEP)}${"]".repeat(DEEP)}`, what: `arrays nested ${DEEP} deep` };
    default:
      return { value: "\u001b[31m\ninjected\r", what: "control characters" };
  }
}

type Json = unknown;

/** Every (container, key) pair in a JSON tree, breadth first, up to `limit`. */
function slots(root: Json, limit = 5000): { parent: Record<string, unknown> | unknown[]; key: string | number }[] {
  const out: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const queue: Json[] = [root];
  for (let q = 0; q < queue.length && out.length < limit; q++) {
    const node = queue[q];
    if (Array.isArray(node)) {
      node.forEach((v, i) => {
        out.push({ parent: node, key: i });
        queue.push(v);
      });
    } else if (node && typeof node === "object") {
      for (const [k, v] of Object.entries(node)) {
        out.push({ parent: node as Record<string, unknown>, key: k });
        queue.push(v);
      }
    }
  }
  return out;
}

/** A structure-aware mutant of a JSON text: one value somewhere in the tree deleted, duplicated or replaced. */
export function mutateJson(random: Random, text: string): { text: string; what: string } {
  const root = JSON.parse(text) as Json;
  const all = slots(root);
  if (all.length === 0) return { text: `${"[".repeat(DEEP)}${"]".repeat(DEEP)}`, what: "replaced by deep nesting" };
  const slot = pick(random, all);
  const where = String(slot.key);
  const mode = int(random, 4);
  if (mode === 0) {
    if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
    else delete slot.parent[slot.key as string];
    return { text: JSON.stringify(root), what: `removed "${where}"` };
  }
  if (mode === 1 && Array.isArray(slot.parent)) {
    slot.parent.push(structuredClone(slot.parent[slot.key as number]));
    return { text: JSON.stringify(root), what: `duplicated element of an array` };
  }
  const marker = "__FUZZ_RAW__";
  const hostile = hostileValue(random);
  (slot.parent as Record<string, unknown>)[slot.key as string] = hostile.raw !== undefined ? marker : hostile.value;
  let out = JSON.stringify(root);
  if (hostile.raw !== undefined) out = out.replace(JSON.stringify(marker), hostile.raw);
  return { text: out, what: `"${where}" set to ${hostile.what}` };
}

/** A mutant of a YAML text: a hostile document or a value replaced at text level. */
export function mutateYaml(random: Random, text: string): { text: string; what: string } {
  switch (int(random, 5)) {
    case 0: {
      const lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
      for (let i = 1; i < 12; i++)
        lines.push(
          `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
            .fill(`*${String.fromCharCode(96 + i)}`)
            .join(", ")}]`,
        );
      return { text: `${lines.join("\n")}\n${text}`, what: "an alias bomb" };
    }
    case 1:
      return {
        text: `models: ${"[".repeat(DEEP)}${"]".repeat(DEEP)}\n${text}`,
        what: `flow sequences nested ${DEEP} deep`,
      };
    case 2: {
      const numbers = [...text.matchAll(/-?\d+(\.\d+)?/g)];
      if (numbers.length === 0) return { text, what: "unchanged" };
      const m = pick(random, numbers);
      const value = pick(random, ["-1", "1e309", "nan", ".inf", "0", "abc", "[]", "{}", "~"]);
      return {
        text: text.slice(0, m.index) + value + text.slice(m.index! + m[0].length),
        what: `a number set to ${value}`,
      };
    }
    case 3: {
      const lines = text.split("\n");
      lines.splice(int(random, lines.length), 1);
      return { text: lines.join("\n"), what: "a line removed" };
    }
    default: {
      const { bytes, what } = mutateBytes(random, new TextEncoder().encode(text));
      return { text: new TextDecoder().decode(bytes), what };
    }
  }
}

/** A .keras or .npz mutant: one entry's bytes mutated (JSON entries structure-aware), the archive rebuilt. */
export function mutateZipEntry(random: Random, zip: Uint8Array): { bytes: Uint8Array; what: string } {
  const entries = unzipSync(zip);
  const names = Object.keys(entries);
  const name = pick(random, names);
  let what: string;
  if (name.endsWith(".json") && random() < 0.7) {
    const m = mutateJson(random, new TextDecoder().decode(entries[name]));
    entries[name] = new TextEncoder().encode(m.text);
    what = m.what;
  } else if (random() < 0.15) {
    delete entries[name];
    what = "removed";
  } else {
    const m = mutateBytes(random, entries[name]!);
    entries[name] = m.bytes;
    what = m.what;
  }
  const files = Object.fromEntries(
    Object.entries(entries).map(([n, d]) => [
      n,
      [d, { level: n.endsWith(".h5") || n.endsWith(".npy") ? 0 : 6 }] as const,
    ]),
  );
  return { bytes: zipSync(files as never), what: `entry ${name}: ${what}` };
}

/**
 * A zip whose entry `name` is `size` zero bytes deflated (a decompression bomb: about 1 MB per GB), with the size
 * the directory declares set to `declared` (the true size, or a lie).
 */
export function zipBomb(
  name: string,
  compressed: Uint8Array,
  size: number,
  declared: number,
  others: Record<string, Uint8Array> = {},
): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const add = (entryName: string, data: Uint8Array, method: number, crc: number, usize: number) => {
    const nameBytes = new TextEncoder().encode(entryName);
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, 20, true);
    local.setUint16(8, method, true);
    local.setUint32(14, crc, true);
    local.setUint32(18, data.length, true);
    local.setUint32(22, usize, true);
    local.setUint16(26, nameBytes.length, true);
    const c = new DataView(new ArrayBuffer(46));
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(4, 20, true);
    c.setUint16(6, 20, true);
    c.setUint16(10, method, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, data.length, true);
    c.setUint32(24, usize, true);
    c.setUint16(28, nameBytes.length, true);
    c.setUint32(42, offset, true);
    parts.push(new Uint8Array(local.buffer), nameBytes, data);
    central.push(new Uint8Array(c.buffer), nameBytes);
    offset += 30 + nameBytes.length + data.length;
  };
  for (const [n, d] of Object.entries(others)) add(n, d, 0, crc32(d), d.length);
  add(name, compressed, 8, 0, declared >>> 0 === declared ? declared : 0xffffffff);
  void size;
  const centralSize = central.reduce((s, p) => s + p.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, Object.keys(others).length + 1, true);
  end.setUint16(10, Object.keys(others).length + 1, true);
  end.setUint32(12, centralSize, true);
  end.setUint32(16, offset, true);
  const all: Uint8Array[] = [...parts, ...central, new Uint8Array(end.buffer)];
  const out: Uint8Array = new Uint8Array(all.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `bytes` zero bytes, deflated (raw): a few hundred KB that inflate to `bytes`. Built once per run. */
export function deflatedZeros(bytes: number): Uint8Array {
  return deflateRawSync(Buffer.alloc(bytes), { level: 9 });
}
