import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { ModelFileError } from "../errors.js";

/** An 8-bit RGBA image. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Images beyond this are refused before decoding (their header says how big they are). */
const MAX_MEGAPIXELS = 64;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(bytes: Uint8Array): boolean {
  return PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

export function isJpeg(bytes: Uint8Array): boolean {
  return bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** Decodes a PNG or JPEG in pure JS, recognised by its signature, to 8-bit RGBA. */
export function decodeImage(bytes: Uint8Array, file: string): RgbaImage {
  if (isPng(bytes)) return decodePng(bytes, file);
  if (isJpeg(bytes)) return decodeJpeg(bytes, file);
  throw new ModelFileError(file, "is neither a PNG nor a JPEG image (unknown signature)");
}

function decodePng(bytes: Uint8Array, file: string): RgbaImage {
  if (bytes.length < 24) throw new ModelFileError(file, "is a truncated PNG image (no IHDR header)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  if (width === 0 || height === 0 || width * height > MAX_MEGAPIXELS * 1e6)
    throw new ModelFileError(file, `is a PNG of ${width}x${height} pixels; expected 1 to ${MAX_MEGAPIXELS} megapixels`);
  try {
    const png = PNG.sync.read(bytes);
    return {
      width: png.width,
      height: png.height,
      data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length),
    };
  } catch (error) {
    throw new ModelFileError(file, `is not a readable PNG image (${(error as Error).message})`);
  }
}

function decodeJpeg(bytes: Uint8Array, file: string): RgbaImage {
  try {
    const image = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: MAX_MEGAPIXELS,
      maxMemoryUsageInMB: 1024,
    });
    if (image.data.length !== image.width * image.height * 4)
      throw new Error("decoded data does not match the image size");
    return image;
  } catch (error) {
    throw new ModelFileError(file, `is not a readable JPEG image (${(error as Error).message})`);
  }
}

/** True when every pixel has R = G = B (a gray image, whatever its PNG/JPEG colour type). */
export function isGray(image: RgbaImage): boolean {
  const d = image.data;
  for (let i = 0; i < d.length; i += 4) if (d[i] !== d[i + 1] || d[i] !== d[i + 2]) return false;
  return true;
}
