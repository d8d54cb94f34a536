/**
 * Dense row-major float64 matrices and the few products the SVD-based merges need. Plain JavaScript: the i-k-j
 * loop order streams rows of the right-hand side, which is what V8 runs fastest without SIMD.
 */

export interface Matrix {
  rows: number;
  cols: number;
  /** Row-major values, rows × cols. */
  data: Float64Array;
}

export function matrix(rows: number, cols: number, data?: ArrayLike<number>): Matrix {
  const values = new Float64Array(rows * cols);
  if (data !== undefined) values.set(data);
  return { rows, cols, data: values };
}

export function transpose(a: Matrix): Matrix {
  const out = matrix(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.cols; j++) out.data[j * a.rows + i] = a.data[i * a.cols + j]!;
  }
  return out;
}

/** A·B. */
export function multiply(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) throw new Error(`cannot multiply ${a.rows}×${a.cols} by ${b.rows}×${b.cols}`);
  const { rows: m, cols: k } = a;
  const n = b.cols;
  const out = matrix(m, n);
  const c = out.data;
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let p = 0; p < k; p++) {
      const aip = a.data[i * k + p]!;
      if (aip === 0) continue;
      const bp = p * n;
      for (let j = 0; j < n; j++) c[ci + j]! += aip * b.data[bp + j]!;
    }
  }
  return out;
}

/** AᵀA (cols × cols), symmetric, computed once per pair. */
export function gramOfColumns(a: Matrix): Matrix {
  const { rows: m, cols: n } = a;
  const out = matrix(n, n);
  const g = out.data;
  for (let r = 0; r < m; r++) {
    const row = r * n;
    for (let i = 0; i < n; i++) {
      const ai = a.data[row + i]!;
      if (ai === 0) continue;
      for (let j = i; j < n; j++) g[i * n + j]! += ai * a.data[row + j]!;
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) g[i * n + j] = g[j * n + i]!;
  return out;
}

/** The columns [from, to) of a. */
export function columns(a: Matrix, from: number, to: number): Matrix {
  const out = matrix(a.rows, to - from);
  for (let i = 0; i < a.rows; i++) {
    for (let j = from; j < to; j++) out.data[i * out.cols + j - from] = a.data[i * a.cols + j]!;
  }
  return out;
}

/** A·diag(d): column j scaled by d[j]. */
export function scaleColumns(a: Matrix, d: ArrayLike<number>): Matrix {
  const out = matrix(a.rows, a.cols, a.data);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) out.data[i * a.cols + j]! *= d[j]!;
  return out;
}

export function frobeniusSquared(a: Matrix): number {
  let s = 0;
  for (const v of a.data) s += v * v;
  return s;
}
