import { readFile } from "node:fs/promises";
import { constants as bufferConstants } from "node:buffer";
import { gunzipSync } from "node:zlib";
import { ModelFileError } from "../errors.js";
import { MAX_DEFLATE_RATIO, inflateCeiling, inflateTooLarge, requireRegularFile } from "../formats/limits.js";

export function isGzip(head: Uint8Array): boolean {
  return head[0] === 0x1f && head[1] === 0x8b;
}

/** Reads a file whole, gunzipping it when it is gzip data (so .csv.gz and .json.gz read like their plain forms). */
export async function readDataFile(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  requireRegularFile(path);
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new ModelFileError(path, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  if (bytes.length === 0) throw new ModelFileError(path, "the file is empty; expected data");
  if (!isGzip(bytes)) return bytes;
  try {
    const ceiling = inflateCeiling();
    const limit = Math.min(bufferConstants.MAX_LENGTH, bytes.length * MAX_DEFLATE_RATIO + 1024, ceiling);
    let out: Uint8Array;
    try {
      out = gunzipSync(bytes, { maxOutputLength: limit });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" && limit === ceiling)
        throw inflateTooLarge(path, "the gzip data", ceiling + 1);
      throw error;
    }
    if (out.length === 0) throw new ModelFileError(path, "the gzip file holds no data; expected data");
    return out;
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    throw new ModelFileError(path, `is not valid gzip data (${(error as Error).message})`);
  }
}

/** The name a file would have without its .gz suffix, for choosing a format by extension. */
export function nameWithoutGz(path: string): string {
  return path.replace(/\.gz$/i, "");
}
