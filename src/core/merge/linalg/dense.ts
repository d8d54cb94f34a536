/**
 * Dense row-major float64 matrices and the few products the SVD-based merges need; the products go through the
 * cache-blocked kernel of gemm.ts.
 */
import { gemmInto } from "./gemm.js";

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

/** op(A)·op(B), where op transposes its operand when asked (no transposed copy is made). */
export function product(a: Matrix, b: Matrix, transposeA = false, transposeB = false): Matrix {
  const m = transposeA ? a.cols : a.rows;
  const k = transposeA ? a.rows : a.cols;
  const kb = transposeB ? b.cols : b.rows;
  const n = transposeB ? b.rows : b.cols;
  if (k !== kb) throw new Error(`cannot multiply ${m}×${k} by ${kb}×${n}`);
  const out = matrix(m, n);
  gemmInto(
    m,
    n,
    k,
    { data: a.data, stride: a.cols, transposed: transposeA },
    { data: b.data, stride: b.cols, transposed: transposeB },
    out.data,
  );
  return out;
}

/** A·B. */
export function multiply(a: Matrix, b: Matrix): Matrix {
  return product(a, b);
}

/** AᵀA (cols × cols): the upper triangle computed, the lower mirrored, so it is exactly symmetric. */
export function gramOfColumns(a: Matrix): Matrix {
  const n = a.cols;
  const out = matrix(n, n);
  const operand = { data: a.data, stride: n };
  gemmInto(n, n, a.rows, { ...operand, transposed: true }, { ...operand, transposed: false }, out.data, true);
  mirrorUpper(out);
  return out;
}

/** A·Aᵀ (rows × rows), exactly symmetric. */
export function gramOfRows(a: Matrix): Matrix {
  const m = a.rows;
  const out = matrix(m, m);
  const operand = { data: a.data, stride: a.cols };
  gemmInto(m, m, a.cols, { ...operand, transposed: false }, { ...operand, transposed: true }, out.data, true);
  mirrorUpper(out);
  return out;
}

function mirrorUpper(s: Matrix): void {
  const n = s.rows;
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) s.data[i * n + j] = s.data[j * n + i]!;
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
