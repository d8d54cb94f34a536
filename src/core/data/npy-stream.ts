/**
 * Reads a .npy file's array into float32 in pieces, never holding the file whole: the features of a large
 * x.npy cost their float32 size and one piece, where reading the file and converting it cost the file's size
 * plus the float32 copy (2× for float32 data, 3× for float64). The header and every size are checked against
 * the file's size before anything is allocated.
 */
import { open } from "node:fs/promises";
import { toFloat32, viewAs } from "../convert.js";
import { ModelFileError } from "../errors.js";
import { requireRegularFile } from "../formats/limits.js";
import { BYTES_PER_ELEMENT } from "../tensor.js";
import { parseNpyPrefix, type NpyLayout } from "./npy.js";

/** The most header bytes read to find the data (NumPy's own headers are a few hundred bytes). */
const MAX_PREFIX_BYTES = 1024 * 1024;
const PIECE_BYTES = 16 * 1024 * 1024;

export interface Float32Npy extends NpyLayout {
  /** The values as float32, C order; owned by the caller. */
  values: Float32Array;
}

/**
 * The whole array, or with `selectRows` (given the file's row count, the ascending rows to keep, or undefined for
 * all) only those rows along the first axis: each run of consecutive rows is one positional read.
 */
export async function readNpyAsFloat32(
  path: string,
  selectRows?: (rowCount: number) => Int32Array | undefined,
): Promise<Float32Npy> {
  requireRegularFile(path);
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw new ModelFileError(path, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  try {
    const size = (await handle.stat()).size;
    if (size === 0) throw new ModelFileError(path, "the file is empty; expected data");
    const prefix = new Uint8Array(Math.min(size, MAX_PREFIX_BYTES));
    await readFully(handle, prefix, 0, path);
    const layout = parseNpyPrefix(prefix, size, path);
    const rows = layout.shape.length > 0 ? selectRows?.(layout.shape[0]!) : undefined;
    if (rows !== undefined) return { ...(await readRows(handle, layout, rows, path)) };
    const width = BYTES_PER_ELEMENT[layout.dtype];
    const values = new Float32Array(layout.count);
    if (layout.dtype === "float32") {
      await readFully(handle, new Uint8Array(values.buffer), layout.dataOffset, path);
    } else {
      // Whole elements per piece, in a fresh buffer so each piece is aligned for its typed view.
      const perPiece = Math.max(1, Math.floor(PIECE_BYTES / width));
      const piece = new Uint8Array(perPiece * width);
      for (let done = 0; done < layout.count; done += perPiece) {
        const n = Math.min(perPiece, layout.count - done);
        const bytes = piece.subarray(0, n * width);
        await readFully(handle, bytes, layout.dataOffset + done * width, path);
        values.set(toFloat32(viewAs(bytes, layout.dtype, [n]), layout.dtype), done);
      }
    }
    return { ...layout, values };
  } finally {
    await handle.close();
  }
}

/** The rows `rows` (ascending, distinct) of a C-order array, as float32. */
async function readRows(
  handle: Awaited<ReturnType<typeof open>>,
  layout: NpyLayout,
  rows: Int32Array,
  path: string,
): Promise<Float32Npy> {
  const total = layout.shape[0]!;
  const perRow = total === 0 ? 0 : layout.count / total;
  const width = BYTES_PER_ELEMENT[layout.dtype];
  const values = new Float32Array(rows.length * perRow);
  const rowsPerPiece = Math.max(1, Math.floor(PIECE_BYTES / Math.max(1, perRow * width)));
  let out = 0;
  for (let i = 0; i < rows.length;) {
    // A run of consecutive rows, at most one piece long.
    let end = i + 1;
    while (end < rows.length && rows[end] === rows[end - 1]! + 1 && end - i < rowsPerPiece) end++;
    const first = rows[i]!;
    if (first < 0 || rows[end - 1]! >= total) throw new RangeError(`row ${rows[end - 1]} of ${total}`);
    const n = (end - i) * perRow;
    const bytes = new Uint8Array(n * width);
    await readFully(handle, bytes, layout.dataOffset + first * perRow * width, path);
    values.set(
      layout.dtype === "float32"
        ? new Float32Array(bytes.buffer)
        : toFloat32(viewAs(bytes, layout.dtype, [n]), layout.dtype),
      out,
    );
    out += n;
    i = end;
  }
  return { ...layout, shape: [rows.length, ...layout.shape.slice(1)], count: values.length, values };
}

async function readFully(
  handle: Awaited<ReturnType<typeof open>>,
  into: Uint8Array,
  position: number,
  path: string,
): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0)
      throw new ModelFileError(path, `truncated .npy file: the data ends after ${position + done} bytes`);
    done += bytesRead;
  }
}
