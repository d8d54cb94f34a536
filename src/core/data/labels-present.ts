/**
 * Whether labelled data will have its labels, checked before any work by the commands that cannot run without them
 * (`evaluate`): a features .npy (or a folder with x.npy) needs its y.npy-style sibling, an .npz its labels key. The
 * answer names the file and what was looked for; other formats always yield labels or say so themselves.
 */
import { open, stat } from "node:fs/promises";
import { join } from "node:path";
import { isZipHead, ZipArchive } from "../io/zip.js";
import { isNpy } from "./npy.js";
import { labelsSibling, labelsSiblingNames } from "./npy-pair.js";

async function readHead(path: string): Promise<Uint8Array> {
  const handle = await open(path, "r");
  try {
    const head = new Uint8Array(16);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Why `path` has no labels (the key or file looked for; the caller names `path`), or undefined when it has them. */
export async function missingLabels(path: string, label?: string): Promise<string | undefined> {
  if (label === "none") return undefined;
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) return undefined; // the loader names a missing file itself
  if (info.isDirectory()) {
    const x = join(path, "x.npy");
    const hasX = await stat(x).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!hasX || (await labelsSibling(x)) !== undefined) return undefined;
    return "has x.npy but no labels file y.npy beside it; evaluation needs labels";
  }
  // A FIFO or device would block the read: such a path is left to the loader, which refuses it in one line.
  if (!info.isFile()) return undefined;
  const head = await readHead(path).catch(() => null);
  if (head === null) return undefined;
  if (isNpy(head)) {
    if (label !== undefined || (await labelsSibling(path)) !== undefined) return undefined;
    const names = labelsSiblingNames(path);
    return `no labels file beside it (looked for ${names.length ? names.join(" or ") : "a y.npy-style sibling"}); evaluation needs labels`;
  }
  if (isZipHead(head)) {
    const key = label ?? "y";
    let keys: string[];
    try {
      const zip = ZipArchive.open(path, ".npz (zip) archive");
      try {
        keys = zip.entries.filter((e) => /\.npy$/i.test(e.name)).map((e) => e.name.slice(0, -4));
      } finally {
        zip.close();
      }
    } catch {
      return undefined; // the loader says what is wrong with the archive
    }
    if (keys.includes(key)) return undefined;
    return `has no array "${key}" for the labels (arrays found: ${keys.map((k) => `"${k}"`).join(", ") || "none"}); evaluation needs labels`;
  }
  return undefined;
}
