import { readFile } from "node:fs/promises";
import { unzipSync, type UnzipFileInfo } from "fflate";
import { ModelFileError } from "../errors.js";
import { datasetFromArrays } from "./arrays.js";
import type { DataLoader, Dataset, LoadOptions } from "./dataset.js";
import { parseNpy } from "./npy.js";
import { MAX_DEFLATE_RATIO } from "./read.js";
import { inflateCeiling, inflateTooLarge, requireRegularFile } from "../formats/limits.js";

const STORED = 0;
const DEFLATE = 8;

/** NumPy .npz: a zip of .npy files; features and labels are chosen by key (default "x" and "y"). */
export const npzLoader: DataLoader = {
  id: "npz",
  detect: (_path, head) => head !== null && head[0] === 0x50 && head[1] === 0x4b,
  load: loadNpz,
};

async function loadNpz(path: string, options: LoadOptions): Promise<Dataset> {
  requireRegularFile(path);
  const bytes = await readFile(path);
  if (bytes.length === 0) throw new ModelFileError(path, "the file is empty; expected an .npz (zip) archive");
  const xKey = options.xKey ?? "x";
  const yKeyGiven = typeof options.label === "string" || typeof options.label === "number";
  const yKey = options.label === null ? undefined : String(options.label ?? "y");
  const keys: string[] = [];
  const wanted = new Set([xKey, yKey].filter((k) => k !== undefined));
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, {
      filter: (info) => {
        if (!/\.npy$/i.test(info.name)) return false;
        const key = info.name.slice(0, -4);
        keys.push(key);
        if (!wanted.has(key)) return false;
        checkEntrySize(info, bytes.length, path);
        return true;
      },
    });
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    throw new ModelFileError(path, `is not a readable .npz (zip) archive (${(error as Error).message})`);
  }
  const entry = (key: string) => entries[`${key}.npy`];
  const xBytes = entry(xKey);
  if (xBytes === undefined)
    throw new ModelFileError(
      path,
      `has no array "${xKey}" for the features (arrays found: ${keys.length ? keys.map((k) => `"${k}"`).join(", ") : "none"}); choose one with the features key option`,
    );
  const yBytes = yKey === undefined ? undefined : entry(yKey);
  if (yKey !== undefined && yBytes === undefined && yKeyGiven)
    throw new ModelFileError(path, `has no array "${yKey}" for the labels (arrays found: ${keys.map((k) => `"${k}"`).join(", ")})`);
  const x = parseNpy(xBytes, `${path}:${xKey}.npy`);
  const y = yBytes === undefined ? undefined : parseNpy(yBytes, `${path}:${yKey}.npy`);
  const dataset = datasetFromArrays(x, y, { file: path, xName: `"${xKey}"`, yName: yKey && `"${yKey}"` }, options);
  if (y === undefined) dataset.notes.push(`no "${yKey ?? "y"}" array: the data is unlabeled`);
  return dataset;
}

/** Refuses entries whose declared size cannot come from this file, before anything is inflated. */
function checkEntrySize(info: UnzipFileInfo, fileSize: number, path: string): void {
  if (info.compression !== STORED && info.compression !== DEFLATE)
    throw new ModelFileError(path, `entry "${info.name}" uses zip compression method ${info.compression}; expected stored (0) or deflate (8)`);
  if (info.size > fileSize)
    throw new ModelFileError(path, `entry "${info.name}" claims ${info.size} compressed bytes but the file has ${fileSize}`);
  const limit = info.compression === STORED ? info.size : info.size * MAX_DEFLATE_RATIO + 1024;
  if (info.originalSize > limit)
    throw new ModelFileError(path, `entry "${info.name}" claims ${info.originalSize} bytes, more than ${info.size} compressed bytes can hold`);
  if (info.originalSize > inflateCeiling()) throw inflateTooLarge(path, `entry "${info.name}"`, info.originalSize);
}
