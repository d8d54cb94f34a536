// The binary encoding of WebAssembly that the project's hand-written modules (the streamed merge's fused sum, the
// matrix product's SIMD kernel) are built from: LEB128 integers, vectors, sections and names. Those modules are
// small enough to write out as bytes with named opcodes; an assembler at build time is not warranted.

/** Value types. */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;

/** The magic number and version 1 that open every module. */
export const MODULE_HEADER: readonly number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/** Unsigned LEB128. */
export function unsigned(value: number): number[] {
  const bytes: number[] = [];
  let v = value;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (v !== 0);
  return bytes;
}

/** Signed LEB128 (32-bit values). */
export function signed(value: number): number[] {
  const bytes: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      bytes.push(byte);
      return bytes;
    }
    bytes.push(byte | 0x80);
  }
}

/** A vector: its length, then its items. */
export const vector = (items: number[][]): number[] => [...unsigned(items.length), ...items.flat()];
/** A section: its id, its size, then its contents. */
export const section = (id: number, contents: number[]): number[] => [id, ...unsigned(contents.length), ...contents];
/** A name (ASCII): its length, then its bytes. */
export const name = (text: string): number[] => [...unsigned(text.length), ...Array.from(text, (c) => c.charCodeAt(0))];
/** A SIMD instruction: the 0xfd prefix, the opcode as an unsigned LEB128, then its immediates. */
export const simdOp = (code: number, ...immediates: number[]): number[] => [0xfd, ...unsigned(code), ...immediates];
