// Helpers of the gradient-kernel tests: the same computation on wasm and on cpu, and central differences.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../../src/worker/backend.js";

export type Backend = "wasm" | "cpu";

/** Runs `f` with `backend` active and returns what it read; tensors made elsewhere move to it when used. */
export async function on<T>(backend: Backend, f: () => T): Promise<T> {
  const choice = await selectBackend(backend);
  assert.equal(choice.backend, backend, `the ${backend} backend did not start`);
  return f();
}

/** Deterministic values in [-1, 1) (mulberry32), so every run checks the same numbers. */
export function values(seed: number, n: number): Float32Array {
  const out = new Float32Array(n);
  let a = (seed * 0x9e3779b9) >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

export function randomTensor(seed: number, shape: number[]): tf.Tensor {
  return tf.tensor(
    values(
      seed,
      shape.reduce((a, b) => a * b, 1),
    ),
    shape,
  );
}

/**
 * Values in [-1, 1) at least 2/n apart, in a seeded order: maxima and ReLUs then never switch inside a small
 * finite-difference step (a near-tie would make central differences average two one-sided slopes).
 */
export function distinctTensor(seed: number, shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const keys = values(seed, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => keys[a]! - keys[b]!);
  const out = new Float32Array(n);
  order.forEach((slot, rank) => (out[slot] = (rank / n) * 2 - 1));
  return tf.tensor(out, shape);
}

/** Largest |a − b| relative to the largest |b| (1 when b is all zeros). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, "sizes differ");
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1);
}

/**
 * Float32 sums in another order differ by a few ulps of the partial sums: 1e-5 of the largest value is well
 * above that for the sizes tested here and far below any indexing mistake (which moves whole terms).
 */
export const BACKEND_TOLERANCE = 1e-5;

/** Central differences of a scalar function of `x` at every element, step `eps` (computed in float64 around f32). */
export function centralDifferences(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, eps: number): Float64Array {
  const base = x.dataSync().slice();
  const out = new Float64Array(base.length);
  for (let i = 0; i < base.length; i++) {
    const at = (delta: number) =>
      tf.tidy(() => {
        const shifted = base.slice();
        shifted[i] = base[i]! + delta;
        return f(tf.tensor(shifted, x.shape)).dataSync()[0]!;
      });
    out[i] = (at(eps) - at(-eps)) / (2 * eps);
  }
  return out;
}
