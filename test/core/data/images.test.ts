import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { loadDataset } from "../../../src/core/data/load.js";
import { resizeInto } from "../../../src/core/data/image-resize.js";
import { rejectsWith, tempDir, writeIn } from "./helpers.js";

/** An RGBA image whose pixel (r, c) is f(r, c) -> [R, G, B]. */
function rgba(width: number, height: number, f: (r: number, c: number) => number[]): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let r = 0; r < height; r++) for (let c = 0; c < width; c++) data.set([...f(r, c), 255], (r * width + c) * 4);
  return data;
}

function png(width: number, height: number, data: Uint8Array): Uint8Array {
  return PNG.sync.write({ width, height, data: Buffer.from(data) });
}

const gradient = (r: number, c: number) => [(r * 37 + c * 11) % 256, (r * 5 + c * 53) % 256, (r * c * 7) % 256];

describe("image folder loader", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  async function classFolder(name: string, files: Record<string, Uint8Array>): Promise<void> {
    await mkdir(join(dir, name), { recursive: true });
    for (const [file, bytes] of Object.entries(files)) await writeIn(join(dir, name), file, bytes);
  }

  it("resizes like tf.image.resizeBilinear with half-pixel centres", async () => {
    const previous = tf.getBackend();
    await tf.setBackend("cpu");
    const [w, h, W, H] = [7, 5, 4, 9];
    const data = rgba(w, h, gradient);
    const out = new Float32Array(H * W * 3);
    resizeInto({ width: w, height: h, data }, H, W, 3, out, 0);
    const rgb = Float32Array.from({ length: w * h * 3 }, (_, i) => data[Math.floor(i / 3) * 4 + (i % 3)]!);
    const reference = tf.tidy(() =>
      tf.image
        .resizeBilinear(tf.tensor3d(rgb, [h, w, 3]), [H, W], false, true)
        .div(255)
        .dataSync(),
    );
    if (previous) await tf.setBackend(previous);
    assert.equal(out.length, reference.length);
    out.forEach((v, i) => assert.ok(Math.abs(v - reference[i]!) < 1e-5, `value ${i}: ${v} vs ${reference[i]}`));
  });

  it("reads PNG and JPEG class folders at the model's input size, gray or RGB, in [0, 1]", async () => {
    const red = rgba(6, 6, () => [255, 0, 0]);
    const gray = rgba(3, 3, () => [128, 128, 128]);
    await classFolder("cat", {
      "a.png": png(6, 6, red),
      "b.jpg": jpeg.encode({ width: 6, height: 6, data: red }, 100).data,
      "notes.txt": new Uint8Array([1]),
    });
    await classFolder("dog", { "c.PNG": png(3, 3, gray) });
    const rgbData = await loadDataset(dir, { inputShape: [null, 4, 4, 3] });
    assert.deepEqual(rgbData.xShape, [3, 4, 4, 3]);
    assert.deepEqual(rgbData.classes, ["cat", "dog"]);
    assert.deepEqual(Array.from(rgbData.y!), [0, 0, 1]);
    const pixel = (i: number, p: number) => Array.from(rgbData.x.subarray(i * 48 + p * 3, i * 48 + p * 3 + 3));
    assert.deepEqual(pixel(0, 5), [1, 0, 0]);
    pixel(1, 5).forEach((v, c) => assert.ok(Math.abs(v - [1, 0, 0][c]!) < 3 / 255, `JPEG channel ${c}: ${v}`));
    pixel(2, 15).forEach((v) => assert.ok(Math.abs(v - 128 / 255) < 1e-6));
    assert.match(rgbData.notes.join(), /1 files that are not PNG or JPEG were skipped/);

    const grayData = await loadDataset(dir, { inputShape: [null, 2, 2, 1] });
    assert.deepEqual(grayData.xShape, [3, 2, 2, 1]);
    assert.ok(Math.abs(grayData.x[0]! - 0.299) < 1e-6, "red in luma is 0.299");
    const noChannel = await loadDataset(dir, { inputShape: [null, 2, 2] });
    assert.deepEqual(noChannel.xShape, [3, 2, 2]);
  });

  it("without a model input, keeps the first image's size and gray channel count", async () => {
    await classFolder("0", {
      "a.png": png(
        5,
        3,
        rgba(5, 3, (r, c) => [r * c, r * c, r * c]),
      ),
    });
    await classFolder("1", { "b.png": png(10, 6, rgba(10, 6, gradient)) });
    const d = await loadDataset(dir);
    assert.deepEqual(d.xShape, [2, 3, 5, 1]);
    assert.match(d.notes.join(), /sized like the first image \(5x3, gray\)/);
  });

  it("refuses a folder with no class subfolders, an empty class and a non-image input shape", async () => {
    await writeIn(dir, "a.png", png(2, 2, rgba(2, 2, gradient)));
    await rejectsWith(() => loadDataset(dir), `${dir}: expected one subfolder per class`, "found no subfolders");
    await classFolder("empty", { "readme.md": new Uint8Array([65]) });
    await rejectsWith(() => loadDataset(dir), join(dir, "empty"), 'class folder "empty" holds no PNG or JPEG images');
    await classFolder("empty", { "a.png": png(2, 2, rgba(2, 2, gradient)) });
    await rejectsWith(
      () => loadDataset(dir, { inputShape: [null, 64] }),
      "the model's input [batch, 64] is not [batch, height, width, channels]",
    );
  });

  it("names a corrupt image", async () => {
    const good = png(4, 4, rgba(4, 4, gradient));
    await classFolder("a", { "good.png": good });
    await classFolder("b", { "cut.png": good.subarray(0, good.length - 20) });
    await rejectsWith(
      () => loadDataset(dir, { inputShape: [null, 4, 4, 3] }),
      `${join(dir, "b", "cut.png")}: is not a readable PNG image`,
    );
    await classFolder("b", { "cut.png": new Uint8Array(0) });
    await rejectsWith(() => loadDataset(dir), join(dir, "b", "cut.png"), "empty file");
    await classFolder("b", { "cut.png": new Uint8Array([1, 2, 3]) });
    await rejectsWith(() => loadDataset(dir), join(dir, "b", "cut.png"), "neither a PNG nor a JPEG");
  });

  it("refuses a PNG whose header claims more pixels than allowed, before decoding", async () => {
    const big = png(2, 2, rgba(2, 2, gradient));
    new DataView(big.buffer, big.byteOffset).setUint32(16, 100_000);
    new DataView(big.buffer, big.byteOffset).setUint32(20, 100_000);
    await classFolder("a", { "big.png": big });
    await rejectsWith(
      () => loadDataset(dir),
      join(dir, "a", "big.png"),
      "is a PNG of 100000x100000 pixels; expected 1 to 64 megapixels",
    );
  });

  it("names a corrupt JPEG", async () => {
    const good = jpeg.encode({ width: 8, height: 8, data: rgba(8, 8, gradient) }, 90).data;
    await classFolder("a", { "bad.jpg": good.subarray(0, 30) });
    await rejectsWith(() => loadDataset(dir), `${join(dir, "a", "bad.jpg")}: is not a readable JPEG image`);
  });
});
