/**
 * Eigendecomposition of a symmetric matrix by cyclic Jacobi rotations: slow for large matrices (O(n³) per sweep,
 * 6–10 sweeps) but simple, and accurate to the last digits for the Gram matrices of the SVD-based merges.
 */
import { matrix, type Matrix } from "./dense.js";

export interface SymmetricEigen {
  /** Eigenvalues, in decreasing order. */
  values: Float64Array;
  /** Eigenvectors as columns (n × n), in the order of `values`. */
  vectors: Matrix;
}

const MAX_SWEEPS = 60;

export function symmetricEigen(input: Matrix): SymmetricEigen {
  const n = input.rows;
  if (input.cols !== n) throw new Error(`a symmetric eigendecomposition needs a square matrix, got ${n}×${input.cols}`);
  const a = Float64Array.from(input.data);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let total = 0;
  for (const x of a) total += x * x;
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! * a[p * n + q]!;
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const app = a[p * n + p]!;
        const aqq = a[q * n + q]!;
        // Skip rotations that no longer change the diagonal in float64 (after the first sweeps).
        if (sweep > 3 && Math.abs(apq) * 1e18 < Math.abs(app) && Math.abs(apq) * 1e18 < Math.abs(aqq)) {
          a[p * n + q] = 0;
          a[q * n + p] = 0;
          continue;
        }
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        a[p * n + q] = 0;
        a[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j]! - a[i * n + i]!);
  const values = Float64Array.from(order, (i) => a[i * n + i]!);
  const vectors = matrix(n, n);
  order.forEach((src, dst) => {
    for (let k = 0; k < n; k++) vectors.data[k * n + dst] = v[k * n + src]!;
  });
  return { values, vectors };
}
