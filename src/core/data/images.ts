import { readdir, readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { ModelFileError } from "../errors.js";
import { formatShape } from "../tensor.js";
import { type DataLoader, type Dataset, type LoadOptions, formatInputShape } from "./dataset.js";
import { decodeImage, isGray, type RgbaImage } from "./image-decode.js";
import { resizeInto } from "./image-resize.js";
import { requireRegularFile } from "../formats/limits.js";

const IMAGE_EXTENSIONS = new Set([".png", ".jpg", ".jpeg"]);

/**
 * A folder with one subfolder per class, each holding PNG or JPEG images (other files are skipped). Class names
 * are the subfolder names in natural order. Images are resized to the model's input (options.inputShape,
 * channels last) and scaled to [0, 1].
 */
export const imageFolderLoader: DataLoader = {
  id: "image-folder",
  detect: (_path, head) => head === null,
  load: loadImageFolder,
};

interface Target {
  height: number;
  width: number;
  channels: 1 | 3 | 4;
  /** [H, W] when the model takes a rank-3 input (no channel axis), else [H, W, C]. */
  sampleShape: number[];
}

async function loadImageFolder(folder: string, options: LoadOptions): Promise<Dataset> {
  const entries = await readdir(folder, { withFileTypes: true });
  const classes = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith("."))
    .map((e) => e.name)
    .sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  if (classes.length === 0)
    throw new ModelFileError(
      folder,
      "expected one subfolder per class (e.g. cat/, dog/) holding PNG or JPEG images; found no subfolders",
    );
  const files: { path: string; label: number }[] = [];
  let skipped = 0;
  for (const [label, name] of classes.entries()) {
    const dir = join(folder, name);
    const names = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isFile() && !e.name.startsWith("."))
      .map((e) => e.name)
      .sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
    const images = names.filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase()));
    skipped += names.length - images.length;
    if (images.length === 0) throw new ModelFileError(dir, `class folder "${name}" holds no PNG or JPEG images`);
    for (const n of images) files.push({ path: join(dir, n), label });
  }

  const first = await readImage(files[0]!.path);
  const target = targetOf(options.inputShape, first, folder);
  const perSample = target.height * target.width * target.channels;
  const x = new Float32Array(files.length * perSample);
  const y = new Int32Array(files.length);
  for (const [i, file] of files.entries()) {
    const image = i === 0 ? first : await readImage(file.path);
    resizeInto(image, target.height, target.width, target.channels, x, i * perSample);
    y[i] = file.label;
  }
  const notes = [
    `${files.length} images in ${classes.length} classes, as ${formatShape(target.sampleShape)} values in [0, 1]`,
  ];
  if (options.inputShape === undefined)
    notes.push(
      `no model input given: sized like the first image (${first.width}x${first.height}, ${target.channels === 1 ? "gray" : "RGB"})`,
    );
  if (skipped > 0) notes.push(`${skipped} files that are not PNG or JPEG were skipped`);
  return {
    x,
    xShape: [files.length, ...target.sampleShape],
    y,
    yShape: [files.length],
    task: "classification",
    classes,
    source: folder,
    labelName: "subfolder",
    notes,
  };
}

async function readImage(path: string): Promise<RgbaImage> {
  requireRegularFile(path);
  const bytes = await readFile(path);
  if (bytes.length === 0) throw new ModelFileError(path, "is an empty file; expected a PNG or JPEG image");
  return decodeImage(bytes, path);
}

function targetOf(inputShape: LoadOptions["inputShape"], first: RgbaImage, folder: string): Target {
  if (inputShape === undefined) {
    const channels = isGray(first) ? 1 : 3;
    return { height: first.height, width: first.width, channels, sampleShape: [first.height, first.width, channels] };
  }
  const dims = inputShape.slice(1);
  const [height, width, channels = 1] = dims;
  const known = (d: number | null | undefined): d is number => typeof d === "number" && d > 0;
  if (
    (dims.length !== 2 && dims.length !== 3) ||
    !known(height) ||
    !known(width) ||
    ![1, 3, 4].includes(channels ?? -1)
  )
    throw new ModelFileError(
      folder,
      `holds images, but the model's input ${formatInputShape(inputShape)} is not [batch, height, width, channels] with known sizes and 1, 3 or 4 channels (channels last)`,
    );
  return {
    height,
    width,
    channels: channels as 1 | 3 | 4,
    sampleShape: dims.length === 2 ? [height, width] : [height, width, channels as number],
  };
}
