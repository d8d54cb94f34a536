/**
 * The thin SVD and the orthogonal polar factor, from the eigendecomposition of the smaller Gram matrix: for an
 * m×n matrix A with n ≤ m, AᵀA = V Σ² Vᵀ and U = A V Σ⁻¹ (a wide A is handled through its transpose). In float64
 * this is accurate for every singular value above ~1e-7 of the largest, which is all the merges below use: a
 * direction whose singular value is below that is numerically zero and is left out of U (its column stays zero).
 */
import { gramOfColumns, gramOfRows, matrix, product, transpose, type Matrix } from "./dense.js";
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

/** 1/s where s is above the rank cut, else 0. */
function inverseAboveCut(s: Float64Array): Float64Array {
  const cut = s[0]! * RANK_TOLERANCE;
  return s.map((x) => (x > cut && x > 0 ? 1 / x : 0));
}

/** The singular values (decreasing) of a tall A and its first `count` right singular vectors, from AᵀA = V Σ² Vᵀ. */
function tallRightFactors(a: Matrix, count = a.cols): { s: Float64Array; v: Matrix } {
  const { values, vectors } = symmetricEigen(gramOfColumns(a), count);
  return { s: Float64Array.from(values, (x) => Math.sqrt(Math.max(x, 0))), v: vectors };
}

/** The top k triplets of a tall A; U's k columns are A V_k Σ_k⁻¹, the others are never formed. */
function tallSvd(a: Matrix, k: number): ThinSvd {
  const { s, v: vk } = tallRightFactors(a, k);
  const av = product(a, vk);
  const inv = inverseAboveCut(s);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < k; j++) av.data[i * k + j]! *= inv[j]!;
  return { u: av, s: s.subarray(0, k), v: vk };
}

/** A = U diag(s) Vᵀ with r = min(m, n). */
export function thinSvd(a: Matrix): ThinSvd {
  return truncatedSvd(a, Math.min(a.rows, a.cols));
}

/**
 * The k largest singular triplets of A, exactly those of the thin SVD (the same eigendecomposition), with only k
 * columns of U computed: TSV-M and Iso-CTS keep a fraction of each task's triplets.
 */
export function truncatedSvd(a: Matrix, k: number): ThinSvd {
  const r = Math.min(a.rows, a.cols);
  if (!(k >= 0 && k <= r)) throw new Error(`cannot keep ${k} singular triplets of a ${a.rows}×${a.cols} matrix`);
  if (a.rows >= a.cols) return tallSvd(a, k);
  const t = tallSvd(transpose(a), k);
  return { u: t.v, s: t.s, v: t.u };
}

export interface PolarDecomposition {
  /** The orthogonal polar factor U Vᵀ (m × n). */
  q: Matrix;
  /** A's min(m, n) singular values, decreasing. */
  s: Float64Array;
}

/**
 * The orthogonal polar factor U Vᵀ of A (the orthogonal matrix nearest to A, Procrustes): A's singular values all
 * set to 1, with the singular values themselves. Computed as A·(V Σ⁻¹ Vᵀ), which skips forming U: a product and a
 * symmetric product where U Vᵀ takes two products. Directions whose singular value is numerically zero are left out
 * (they map to zero).
 */
export function polarDecomposition(a: Matrix): PolarDecomposition {
  if (a.rows < a.cols) {
    const t = polarDecomposition(transpose(a));
    return { q: transpose(t.q), s: t.s };
  }
  const { s, v } = tallRightFactors(a);
  const root = Float64Array.from(inverseAboveCut(s), Math.sqrt);
  const w = matrix(v.rows, v.cols, v.data);
  for (let i = 0; i < w.rows; i++) for (let j = 0; j < w.cols; j++) w.data[i * w.cols + j]! *= root[j]!;
  return { q: product(a, gramOfRows(w)), s };
}

export function polarFactor(a: Matrix): Matrix {
  return polarDecomposition(a).q;
}

/** U diag(s) Vᵀ. */
export function compose(u: Matrix, s: ArrayLike<number>, v: Matrix): Matrix {
  const us = matrix(u.rows, u.cols, u.data);
  for (let i = 0; i < u.rows; i++) for (let j = 0; j < u.cols; j++) us.data[i * u.cols + j]! *= s[j]!;
  return product(us, v, false, true);
}
