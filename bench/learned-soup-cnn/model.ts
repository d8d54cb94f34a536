// The CNN of bench/learned-soup-cnn and its generated data, shared by run.ts (the benchmark against PyTorch) and
// profile.ts (where a learning step's time goes).
import * as tf from "@tensorflow/tfjs";
import { mulberry32 } from "../../src/core/random.js";

export const CLASSES = 10;
export const SIZE = 32;
export const CHANNELS = [16, 32, 64];
export const HIDDEN = 512;

/**
 * Ten classes of 32×32×3 images: each class is a pattern of a few sinusoids with its own frequencies and phases
 * per channel; a sample is its class's pattern at a low random contrast, shifted by up to 3 pixels, under strong noise
 * (so that neither the ingredients nor their soups are perfect and the learned coefficients matter).
 */
export function makeData<K extends string>(
  seed: number,
  sizes: Record<K, number>,
): Record<K, { x: Float32Array; y: Float32Array }> {
  const random = mulberry32(seed);
  const patterns = Array.from({ length: CLASSES }, () =>
    Array.from({ length: 3 }, () => ({ fx: 0.1 + random() * 0.5, fy: 0.1 + random() * 0.5, phase: random() * 6.28 })),
  );
  const split = (count: number) => {
    const x = new Float32Array(count * SIZE * SIZE * 3);
    const y = new Float32Array(count);
    for (let n = 0; n < count; n++) {
      const c = Math.floor(random() * CLASSES);
      y[n] = c;
      const contrast = 0.15 + random() * 0.45;
      const dx = Math.floor(random() * 7) - 3;
      const dy = Math.floor(random() * 7) - 3;
      for (let i = 0; i < SIZE; i++) {
        for (let j = 0; j < SIZE; j++) {
          for (let ch = 0; ch < 3; ch++) {
            const p = patterns[c]![ch]!;
            const noise = (random() + random() + random() - 1.5) * 3;
            x[((n * SIZE + i) * SIZE + j) * 3 + ch] =
              contrast * Math.sin(p.fx * (i + dy) + p.fy * (j + dx) + p.phase) + noise;
          }
        }
      }
    }
    return { x, y };
  };
  // Split by split in the order given, so the same seed and sizes give the same rows.
  return Object.fromEntries(Object.entries<number>(sizes).map(([name, count]) => [name, split(count)])) as Record<
    K,
    { x: Float32Array; y: Float32Array }
  >;
}

/** The Keras form of reference.py's CNN; the last layer ends in softmax (folded into PyTorch's cross-entropy). */
export function buildModel(): tf.Sequential {
  const model = tf.sequential();
  CHANNELS.forEach((filters, b) => {
    model.add(
      tf.layers.conv2d({
        name: `conv${b + 1}`,
        filters,
        kernelSize: 3,
        padding: "same",
        ...(b === 0 ? { inputShape: [SIZE, SIZE, 3] } : {}),
      }),
    );
    model.add(tf.layers.batchNormalization({ name: `bn${b + 1}`, epsilon: 1e-3 }));
    model.add(tf.layers.activation({ name: `relu${b + 1}`, activation: "relu" }));
    model.add(tf.layers.maxPooling2d({ name: `pool${b + 1}`, poolSize: 2 }));
  });
  model.add(tf.layers.flatten({ name: "flatten" }));
  model.add(tf.layers.dense({ name: "dense1", units: HIDDEN, activation: "relu" }));
  model.add(tf.layers.dense({ name: "dense2", units: CLASSES, activation: "softmax" }));
  return model;
}
