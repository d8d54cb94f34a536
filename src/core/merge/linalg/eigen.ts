/**
 * Eigendecomposition of a symmetric matrix, the way LAPACK's dsyevd does it: blocked Householder reduction to
 * tridiagonal form (tridiagonal-reduction.ts), divide and conquer on the tridiagonal (tridiagonal-eigen.ts), and the
 * reflectors applied back to the eigenvectors asked for in blocks. Nearly all of its ~4n³ flops (with every
 * eigenvector) run in the blocked matrix product of gemm.ts.
 */
import { matrix, type Matrix } from "./dense.js";
import { tridiagonalEigen } from "./tridiagonal-eigen.js";
import { applyReflectors, reduceToTridiagonal } from "./tridiagonal-reduction.js";

export interface SymmetricEigen {
  /** Eigenvalues, in decreasing order. */
  values: Float64Array;
  /** Eigenvectors as columns (n × count), in the order of `values`. */
  vectors: Matrix;
}

/**
 * The eigenvalues of the symmetric `input` (its upper triangle is read), decreasing, and the eigenvectors of the
 * `count` largest (all by default): the reflectors are applied only to those, which saves 2n²·(n − count) flops.
 */
export function symmetricEigen(input: Matrix, count = input.rows): SymmetricEigen {
  const n = input.rows;
  if (input.cols !== n) throw new Error(`a symmetric eigendecomposition needs a square matrix, got ${n}×${input.cols}`);
  if (!(count >= 0 && count <= n)) throw new Error(`cannot take ${count} eigenvectors of a ${n}×${n} matrix`);
  const a = Float64Array.from(input.data);
  const { d, e, tau } = reduceToTridiagonal(a, n);
  const { values: ascending, vectors: z } = tridiagonalEigen(d, e);
  const values = ascending.reverse();
  const vectors = matrix(n, count);
  for (let c = 0; c < count; c++) {
    const from = (n - 1 - c) * n;
    for (let r = 0; r < n; r++) vectors.data[r * count + c] = z[from + r]!;
  }
  applyReflectors(a, n, tau, vectors.data, count);
  return { values, vectors };
}
