import { statSync } from "node:fs";
import { ModelFileError } from "../errors.js";
import { datasetFromArrays } from "./arrays.js";
import type { DataLoader, Dataset, LoadOptions } from "./dataset.js";
import { parseNpy } from "./npy.js";
import { requireRegularFile } from "../formats/limits.js";
import { ZipArchive, isZipHead } from "../io/zip.js";

/** NumPy .npz: a zip of .npy files; features and labels are chosen by key (default "x" and "y"). */
export const npzLoader: DataLoader = {
  id: "npz",
  detect: (_path, head) => head !== null && isZipHead(head),
  load: loadNpz,
};

async function loadNpz(path: string, options: LoadOptions): Promise<Dataset> {
  requireRegularFile(path);
  if (statSync(path).size === 0) throw new ModelFileError(path, "the file is empty; expected an .npz (zip) archive");
  const zip = ZipArchive.open(path, ".npz (zip) archive");
  try {
    const xKey = options.xKey ?? "x";
    const yKeyGiven = typeof options.label === "string" || typeof options.label === "number";
    const yKey = options.label === null ? undefined : String(options.label ?? "y");
    const arrays = new Map(zip.entries.filter((e) => /\.npy$/i.test(e.name)).map((e) => [e.name.slice(0, -4), e]));
    const keys = [...arrays.keys()];
    const xEntry = arrays.get(xKey);
    if (xEntry === undefined)
      throw new ModelFileError(
        path,
        `has no array "${xKey}" for the features (arrays found: ${keys.length ? keys.map((k) => `"${k}"`).join(", ") : "none"}); choose one with the features key option`,
      );
    const yEntry = yKey === undefined ? undefined : arrays.get(yKey);
    if (yKey !== undefined && yEntry === undefined && yKeyGiven)
      throw new ModelFileError(
        path,
        `has no array "${yKey}" for the labels (arrays found: ${keys.map((k) => `"${k}"`).join(", ")})`,
      );
    const x = parseNpy(zip.read(xEntry), `${path}:${xKey}.npy`);
    const y = yEntry === undefined ? undefined : parseNpy(zip.read(yEntry), `${path}:${yKey}.npy`);
    const dataset = datasetFromArrays(
      x,
      y,
      {
        file: path,
        xName: `"${xKey}"`,
        yName: yKey && `"${yKey}"`,
        labelName: yKey,
        labelSource: yKey && `key "${yKey}"`,
      },
      options,
    );
    if (y === undefined) dataset.notes.push(`no "${yKey ?? "y"}" array: the data is unlabeled`);
    return dataset;
  } finally {
    zip.close();
  }
}
