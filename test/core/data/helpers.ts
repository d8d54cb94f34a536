import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../../../", import.meta.url));
export const NUMPY_FIXTURES = join(REPO, "test/fixtures/data/numpy");
export const DIGITS = join(REPO, "samples/digits/digits.csv.gz");

/**
 * A .npy file byte for byte as the format spec (numpy/lib/format.py) lays it out: magic, version, little-endian
 * header length (2 bytes in 1.0, 4 in 2.0/3.0), a Python dict literal padded with spaces and ended by "\n" so
 * that the data starts at a multiple of 64.
 */
export function npyBytes(
  descr: string,
  shape: number[],
  data: Uint8Array,
  { version = 1, fortran = false }: { version?: 1 | 2 | 3; fortran?: boolean } = {},
): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? "True" : "False"}, 'shape': ${shapeText}, }`;
  const prefix = version === 1 ? 10 : 12;
  const total = Math.ceil((prefix + header.length + 1) / 64) * 64;
  header = header.padEnd(total - prefix - 1, " ") + "\n";
  const out = new Uint8Array(total + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), prefix);
  out.set(data, total);
  return out;
}

export function bytesOf(array: ArrayBufferView): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

export const f32 = (values: number[]) => bytesOf(new Float32Array(values));

/** A fresh temporary folder, removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "model-soup-data-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function writeIn(dir: string, name: string, content: string | Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

/** Runs `action`, expecting it to reject with a message that contains every fragment. */
export async function rejectsWith(action: () => Promise<unknown>, ...fragments: (string | RegExp)[]): Promise<Error> {
  try {
    await action();
  } catch (error) {
    const message = (error as Error).message;
    for (const f of fragments) {
      const ok = typeof f === "string" ? message.includes(f) : f.test(message);
      if (!ok) throw new Error(`expected the error to mention ${String(f)}; got: ${message}`, { cause: error });
    }
    return error as Error;
  }
  throw new Error(`expected an error mentioning ${fragments.map(String).join(", ")}; none was thrown`);
}
