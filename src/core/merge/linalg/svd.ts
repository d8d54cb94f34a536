/**
 * The thin SVD and the orthogonal polar factor, from the eigendecomposition of the smaller Gram matrix: for an
 * m×n matrix A with n ≤ m, AᵀA = V Σ² Vᵀ and U = A V Σ⁻¹ (a wide A is handled through its transpose). In float64
 * this is accurate for every singular value above ~1e-7 of the largest, which is all the merges below use: a
 * direction whose singular value is below that is numerically zero and is left out of U (its column stays zero).
 */
import { gramOfColumns, matrix, multiply, transpose, type Matrix } from "./dense.js";
import { symmetricEigen } from "./eigen.js";

export interface ThinSvd {
  /** m × r, orthonormal columns (a column is zero where its singular value is numerically zero). */
  u: Matrix;
  /** r singular values, decreasing. */
  s: Float64Array;
  /** n × r, orthonormal columns: A = U diag(s) Vᵀ. */
  v: Matrix;
}

/** Singular values below this fraction of the largest are taken as zero. */
const RANK_TOLERANCE = 1e-7;

function tallSvd(a: Matrix): ThinSvd {
  const r = a.cols;
  const { values, vectors } = symmetricEigen(gramOfColumns(a));
  const s = Float64Array.from(values, (x) => Math.sqrt(Math.max(x, 0)));
  const av = multiply(a, vectors);
  const cut = s[0]! * RANK_TOLERANCE;
  for (let j = 0; j < r; j++) {
    const inv = s[j]! > cut && s[j]! > 0 ? 1 / s[j]! : 0;
    for (let i = 0; i < a.rows; i++) av.data[i * r + j]! *= inv;
  }
  return { u: av, s, v: vectors };
}

/** A = U diag(s) Vᵀ with r = min(m, n). */
export function thinSvd(a: Matrix): ThinSvd {
  if (a.rows >= a.cols) return tallSvd(a);
  const t = tallSvd(transpose(a));
  return { u: t.v, s: t.s, v: t.u };
}

/**
 * The orthogonal polar factor U Vᵀ of A (the orthogonal matrix nearest to A, Procrustes): A's singular values all
 * set to 1. Directions whose singular value is numerically zero are left out (they map to zero).
 */
export function polarFactor(a: Matrix): Matrix {
  const { u, v } = thinSvd(a);
  return multiply(u, transpose(v));
}

/** U diag(s) Vᵀ. */
export function compose(u: Matrix, s: ArrayLike<number>, v: Matrix): Matrix {
  const us = matrix(u.rows, u.cols, u.data);
  for (let i = 0; i < u.rows; i++) for (let j = 0; j < u.cols; j++) us.data[i * u.cols + j]! *= s[j]!;
  return multiply(us, transpose(v));
}
