/**
 * What the SVD-based merges (TSV-M, Iso-C, Iso-CTS, WUDI) share: a 2-D tensor's task vectors as matrices in the
 * papers' orientation, and the fallback of every other tensor (biases, normalisation parameters, convolution
 * kernels), which the papers leave to the mean of the task vectors.
 */
import { matrix, type Matrix } from "./dense.js";

/**
 * Whether a 2-D tensor is stored [outputs, inputs] (PyTorch's `nn.Linear.weight`, named `….weight`) rather than
 * [inputs, outputs] (a Keras or TF.js `kernel`). The papers write W as [outputs, inputs]; methods whose result
 * depends on the side (Iso-CTS's common subspace, WUDI's interference on the inputs) turn the others round.
 */
export function storedOutputsFirst(name: string): boolean {
  return /(^|[./])weight$/.test(name);
}

/** The task vector W_i − W_base of a 2-D tensor as an [outputs, inputs] matrix. */
export function taskMatrix(model: Float32Array, base: Float32Array, shape: readonly number[], name: string): Matrix {
  const [rows, cols] = shape as [number, number];
  const out = storedOutputsFirst(name) ? matrix(rows, cols) : matrix(cols, rows);
  if (storedOutputsFirst(name)) {
    for (let k = 0; k < rows * cols; k++) out.data[k] = model[k]! - base[k]!;
  } else {
    // stored [in, out] row-major: element (i, o) at i·cols + o goes to (o, i).
    for (let i = 0; i < rows; i++) {
      for (let o = 0; o < cols; o++) out.data[o * rows + i] = model[i * cols + o]! - base[i * cols + o]!;
    }
  }
  return out;
}

/** base + λ·Δ, Δ an [outputs, inputs] matrix, in the tensor's stored layout. */
export function addToBase(base: Float32Array, delta: Matrix, lambda: number, name: string): Float32Array {
  const out = new Float32Array(base.length);
  if (storedOutputsFirst(name)) {
    for (let k = 0; k < base.length; k++) out[k] = base[k]! + lambda * delta.data[k]!;
  } else {
    const inputs = delta.cols;
    const outputs = delta.rows;
    for (let i = 0; i < inputs; i++) {
      for (let o = 0; o < outputs; o++)
        out[i * outputs + o] = base[i * outputs + o]! + lambda * delta.data[o * inputs + i]!;
    }
  }
  return out;
}

/** base + λ·mean_i(W_i − W_base): the papers' treatment of every tensor that is not a 2-D matrix. */
export function meanTaskVector(models: readonly Float32Array[], base: Float32Array, lambda: number): Float32Array {
  const out = new Float32Array(base.length);
  const n = models.length;
  for (let k = 0; k < base.length; k++) {
    let s = 0;
    for (const m of models) s += m[k]! - base[k]!;
    out[k] = base[k]! + (lambda * s) / n;
  }
  return out;
}

export function isMatrix(shape: readonly number[]): boolean {
  return shape.length === 2 && shape[0]! > 0 && shape[1]! > 0;
}
