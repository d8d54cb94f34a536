/** The digits sample repeated to any number of rows, as the scale benchmarks write it (CSV, or an .npy pair). */
import { createWriteStream, readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export const FEATURES = 64;

export function digitsRows(): number[][] {
  const text = gunzipSync(readFileSync(join(ROOT, "samples", "digits", "digits.csv.gz"))).toString("utf8");
  return text
    .trim()
    .split("\n")
    .map((line) => line.split(",").map(Number));
}

export async function writeCsv(path: string, rows: number, digits: number[][]): Promise<void> {
  const out = createWriteStream(path);
  const lines = digits.map((r) => `${r.join(",")}\n`);
  let chunk = "";
  for (let i = 0; i < rows; i++) {
    chunk += lines[i % lines.length];
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
      chunk = "";
    }
  }
  out.write(chunk);
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

function npyHeader(descr: string, shape: number[]): Uint8Array {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const header = dict.padEnd(total - 10 - 1, " ") + "\n";
  const out = new Uint8Array(total);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  return out;
}

export async function writeNpyPair(folder: string, rows: number, digits: number[][]): Promise<void> {
  const x = await open(join(folder, "x.npy"), "w");
  const y = await open(join(folder, "y.npy"), "w");
  try {
    await x.write(npyHeader("<f4", [rows, FEATURES]));
    await y.write(npyHeader("<i8", [rows]));
    const block = 65536;
    for (let start = 0; start < rows; start += block) {
      const n = Math.min(block, rows - start);
      const xs = new Float32Array(n * FEATURES);
      const ys = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const row = digits[(start + i) % digits.length]!;
        for (let j = 0; j < FEATURES; j++) xs[i * FEATURES + j] = row[j]!;
        ys[i] = BigInt(row[FEATURES]!);
      }
      await x.write(new Uint8Array(xs.buffer));
      await y.write(new Uint8Array(ys.buffer));
    }
  } finally {
    await x.close();
    await y.close();
  }
}
