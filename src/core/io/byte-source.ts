import { closeSync, fstatSync, openSync, readSync } from "node:fs";

/** Random access to a byte range (a file, or an entry stored inside a zip), read synchronously in pages. */
export interface ByteSource {
  readonly length: number;
  /** Exactly `length` bytes at `at`; throws RangeError when the range leaves the source. */
  read(at: number, length: number): Uint8Array;
  close(): void;
}

const PAGE = 64 * 1024;

export function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    length: bytes.length,
    read(at, length) {
      if (at < 0 || length < 0 || at + length > bytes.length)
        throw new RangeError(`bytes ${at}+${length} beyond ${bytes.length}`);
      return bytes.subarray(at, at + length);
    },
    close() {},
  };
}

/**
 * `length` bytes of `path` from `offset` (the whole file by default). Sources up to `wholeUpTo` bytes are read in
 * one go; larger ones a 64 KiB page at a time, so only the pages holding metadata are read.
 */
export function fileSource(path: string, offset = 0, length?: number, wholeUpTo = 4 * PAGE): ByteSource {
  const fd = openSync(path, "r");
  try {
    const size = length ?? fstatSync(fd).size - offset;
    const readRaw = (at: number, n: number) => {
      const out = new Uint8Array(n);
      const got = readSync(fd, out, 0, n, offset + at);
      if (got !== n) throw new RangeError(`short read at ${at}`);
      return out;
    };
    if (size <= wholeUpTo) {
      const whole = bufferSource(readRaw(0, size));
      closeSync(fd);
      return whole;
    }
    const pages = new Map<number, Uint8Array>();
    const page = (i: number) => {
      let p = pages.get(i);
      if (!p) pages.set(i, (p = readRaw(i * PAGE, Math.min(PAGE, size - i * PAGE))));
      return p;
    };
    return {
      length: size,
      read(at, n) {
        if (at < 0 || n < 0 || at + n > size) throw new RangeError(`bytes ${at}+${n} beyond ${size}`);
        // A large range (a tensor, a stored zip entry) is read once, not kept page by page.
        if (n > wholeUpTo) return readRaw(at, n);
        const first = Math.floor(at / PAGE);
        const last = Math.floor((at + Math.max(n, 1) - 1) / PAGE);
        if (first === last) return page(first).subarray(at - first * PAGE, at - first * PAGE + n);
        const out = new Uint8Array(n);
        for (let i = first; i <= last; i++) {
          const p = page(i);
          const from = Math.max(at, i * PAGE);
          const to = Math.min(at + n, i * PAGE + p.length);
          out.set(p.subarray(from - i * PAGE, to - i * PAGE), from - at);
        }
        return out;
      },
      close() {
        closeSync(fd);
      },
    };
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // already closed after a whole read
    }
    throw error;
  }
}
