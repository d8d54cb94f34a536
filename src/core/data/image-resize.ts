import type { RgbaImage } from "./image-decode.js";

/**
 * Writes the image into out[offset...] as height x width x channels floats in [0, 1], resized with bilinear
 * interpolation on half-pixel centres (as tf.image.resize does without antialiasing). Channels: 1 is luma
 * (ITU-R BT.601 weights, as PIL's "L" mode), 3 is RGB, 4 is RGBA.
 */
export function resizeInto(
  image: RgbaImage,
  height: number,
  width: number,
  channels: 1 | 3 | 4,
  out: Float32Array,
  offset: number,
): void {
  const { width: w, height: h, data } = image;
  const ys = axis(h, height);
  const xs = axis(w, width);
  const px = [0, 0, 0, 0];
  let o = offset;
  for (let oy = 0; oy < height; oy++) {
    const y0 = ys.low[oy]!;
    const y1 = ys.high[oy]!;
    const fy = ys.frac[oy]!;
    for (let ox = 0; ox < width; ox++) {
      const x0 = xs.low[ox]!;
      const x1 = xs.high[ox]!;
      const fx = xs.frac[ox]!;
      for (let c = 0; c < 4; c++) {
        const top = data[(y0 * w + x0) * 4 + c]! * (1 - fx) + data[(y0 * w + x1) * 4 + c]! * fx;
        const bottom = data[(y1 * w + x0) * 4 + c]! * (1 - fx) + data[(y1 * w + x1) * 4 + c]! * fx;
        px[c] = (top * (1 - fy) + bottom * fy) / 255;
      }
      if (channels === 1) out[o++] = 0.299 * px[0]! + 0.587 * px[1]! + 0.114 * px[2]!;
      else for (let c = 0; c < channels; c++) out[o++] = px[c]!;
    }
  }
}

/** For each output coordinate: the two source neighbours and the weight of the second. */
function axis(inSize: number, outSize: number): { low: Int32Array; high: Int32Array; frac: Float32Array } {
  const low = new Int32Array(outSize);
  const high = new Int32Array(outSize);
  const frac = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    const s = Math.min(Math.max((i + 0.5) * scale - 0.5, 0), inSize - 1);
    low[i] = Math.floor(s);
    high[i] = Math.min(low[i]! + 1, inSize - 1);
    frac[i] = s - low[i]!;
  }
  return { low, high, frac };
}
