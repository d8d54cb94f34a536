/**
 * All eigenvalues and eigenvectors of a symmetric tridiagonal matrix by Cuppen's divide and conquer (LAPACK's
 * dstedc/dlaed0–3): T is split in halves by a rank-one tear, each half solved recursively (QL below LEAF rows), and
 * the halves merged through the eigensystem of D + ρ z zᵀ (secular.ts). Eigenpairs that the tear leaves untouched
 * (a negligible z entry, or two nearly equal d whose z entries a rotation folds into one) are deflated, as in
 * dlaed2; the eigenvectors of the rest are the halves' eigenvectors times the small problem's, one matrix product
 * for the rows of each half (gemm.ts), so the O(n³) work runs at the product's speed, and less of it the more
 * deflates (a rank-deficient matrix deflates most of its null space).
 */
import { gemm } from "./gemm.js";
import { rankOneUpdateEigen } from "./secular.js";
import { tridiagonalQl } from "./tridiagonal-ql.js";

const LEAF = 32;
const EPS = 2 ** -52;

export interface TridiagonalEigen {
  /** The n eigenvalues, increasing. */
  values: Float64Array;
  /** n × n row-major; column j is the unit eigenvector of values[j]. */
  vectors: Float64Array;
}

/** Solves the tridiagonal with diagonal d (n) and off-diagonal e (n − 1; e[i] = T[i][i + 1]); d and e are kept. */
export function tridiagonalEigen(diagonal: Float64Array, offDiagonal: Float64Array): TridiagonalEigen {
  const n = diagonal.length;
  let norm = 0;
  for (const x of diagonal) norm = Math.max(norm, Math.abs(x));
  for (const x of offDiagonal) norm = Math.max(norm, Math.abs(x));
  const q = new Float64Array(n * n);
  if (norm === 0) {
    for (let i = 0; i < n; i++) q[i * n + i] = 1;
    return { values: new Float64Array(n), vectors: q };
  }
  const d = diagonal.map((x) => x / norm);
  const e = offDiagonal.map((x) => x / norm);
  solve(d, e, q, n, 0, n);
  return { values: d.map((x) => x * norm), vectors: q };
}

/** Eigenpairs of rows/columns [lo, hi): values into d[lo..hi) (increasing), vectors into the block q[lo.., lo..]. */
function solve(d: Float64Array, e: Float64Array, q: Float64Array, n: number, lo: number, hi: number): void {
  const size = hi - lo;
  if (size <= LEAF) {
    leaf(d, e, q, n, lo, hi);
    return;
  }
  const mid = lo + (size >> 1);
  const beta = e[mid - 1]!;
  d[mid - 1]! -= Math.abs(beta);
  d[mid]! -= Math.abs(beta);
  solve(d, e, q, n, lo, mid);
  solve(d, e, q, n, mid, hi);
  merge(d, q, n, lo, mid, hi, beta);
}

function leaf(d: Float64Array, e: Float64Array, q: Float64Array, n: number, lo: number, hi: number): void {
  const m = hi - lo;
  const z = new Float64Array(m * m);
  for (let i = 0; i < m; i++) z[i * m + i] = 1;
  const dd = d.slice(lo, hi);
  const ee = new Float64Array(m);
  ee.set(e.subarray(lo, hi - 1));
  tridiagonalQl(z, m, dd, ee);
  const order = Array.from({ length: m }, (_, i) => i).sort((i, j) => dd[i]! - dd[j]!);
  order.forEach((src, t) => {
    d[lo + t] = dd[src]!;
    for (let r = 0; r < m; r++) q[(lo + r) * n + lo + t] = z[src * m + r]!;
  });
}

/** Which rows of the merged block a column is nonzero on (dlaed2's column types). */
const TOP = 1;
const BOTH = 2;
const BOTTOM = 3;

/**
 * Merges the solved halves [lo, mid) and [mid, hi) of a tridiagonal torn at mid with off-diagonal beta (the halves'
 * touching diagonal entries already lowered by |beta|): T = Q (D + ρ z zᵀ) Qᵀ with ρ = 2|beta| and z the halves'
 * last and first eigenvector rows over √2.
 */
function merge(d: Float64Array, q: Float64Array, n: number, lo: number, mid: number, hi: number, beta: number): void {
  const size = hi - lo;
  const n1 = mid - lo;
  const rho = 2 * Math.abs(beta);
  const sign = beta < 0 ? -1 : 1;
  // The block's columns, each contiguous (cols[j·size + r] = Q[lo + r][lo + j]), so rotations and gathers are cheap.
  const cols = new Float64Array(size * size);
  for (let r = 0; r < size; r++) {
    const from = (lo + r) * n + lo;
    const rowEnd = r < n1 ? n1 : size;
    for (let j = r < n1 ? 0 : n1; j < rowEnd; j++) cols[j * size + r] = q[from + j]!;
  }
  const dv = d.slice(lo, hi);
  const z = new Float64Array(size);
  for (let j = 0; j < n1; j++) z[j] = cols[j * size + n1 - 1]! * Math.SQRT1_2;
  for (let j = n1; j < size; j++) z[j] = sign * cols[j * size + n1]! * Math.SQRT1_2;
  const type = Uint8Array.from({ length: size }, (_, j) => (j < n1 ? TOP : BOTTOM));
  const order = Array.from({ length: size }, (_, j) => j).sort((i, j) => dv[i]! - dv[j]!);

  let dmax = 0;
  let zmax = 0;
  for (let j = 0; j < size; j++) {
    dmax = Math.max(dmax, Math.abs(dv[j]!));
    zmax = Math.max(zmax, Math.abs(z[j]!));
  }
  const tol = 8 * EPS * Math.max(dmax, zmax);
  const kept: number[] = [];
  const deflated: number[] = [];
  let previous = -1;
  for (const j of order) {
    if (rho * Math.abs(z[j]!) <= tol) {
      deflated.push(j);
      continue;
    }
    if (previous < 0) {
      previous = j;
      continue;
    }
    // Two close poles: a rotation puts both z entries into j and deflates `previous` if the mixing is negligible.
    const tau = Math.hypot(z[j]!, z[previous]!);
    const c = z[j]! / tau;
    const s = -z[previous]! / tau;
    if (Math.abs((dv[j]! - dv[previous]!) * c * s) <= tol) {
      z[j] = tau;
      z[previous] = 0;
      if (type[j] !== type[previous]) type[j] = type[previous] = BOTH;
      const x = previous * size;
      const y = j * size;
      for (let r = 0; r < size; r++) {
        const a = cols[x + r]!;
        const b = cols[y + r]!;
        cols[x + r] = c * a + s * b;
        cols[y + r] = c * b - s * a;
      }
      const dp = dv[previous]!;
      const dj = dv[j]!;
      dv[previous] = dp * c * c + dj * s * s;
      dv[j] = dp * s * s + dj * c * c;
      deflated.push(previous);
    } else kept.push(previous);
    previous = j;
  }
  if (previous >= 0) kept.push(previous);

  const k = kept.length;
  const values: number[] = [];
  const sources: { from: Float64Array; at: number }[] = [];
  if (k > 0) {
    const poles = Float64Array.from(kept, (j) => dv[j]!);
    const weights = Float64Array.from(kept, (j) => z[j]!);
    const small = rankOneUpdateEigen(poles, weights, rho);
    const merged = new Float64Array(k * size);
    multiplyRows(cols, size, kept, type, small.vectors, k, 0, n1, TOP, merged);
    multiplyRows(cols, size, kept, type, small.vectors, k, n1, size, BOTTOM, merged);
    for (let j = 0; j < k; j++) {
      values.push(small.values[j]!);
      sources.push({ from: merged, at: j * size });
    }
  }
  for (const j of deflated) {
    values.push(dv[j]!);
    sources.push({ from: cols, at: j * size });
  }
  const final = Array.from({ length: size }, (_, i) => i).sort((i, j) => values[i]! - values[j]!);
  final.forEach((src, t) => {
    d[lo + t] = values[src]!;
    const { from, at } = sources[src]!;
    for (let r = 0; r < size; r++) q[(lo + r) * n + lo + t] = from[at + r]!;
  });
}

/**
 * Rows [r0, r1) of the merged eigenvectors: out[j·size + r] = Σ_m U[j][m]·cols[kept[m]][r], over the kept columns
 * that are nonzero on these rows (the other type's columns are zero there).
 */
function multiplyRows(
  cols: Float64Array,
  size: number,
  kept: number[],
  type: Uint8Array,
  u: Float64Array,
  k: number,
  r0: number,
  r1: number,
  own: number,
  out: Float64Array,
): void {
  const used = kept.flatMap((j, m) => (type[j] === own || type[j] === BOTH ? [m] : []));
  const rows = r1 - r0;
  if (used.length === 0 || rows === 0) return;
  const packedCols = new Float64Array(used.length * rows);
  const packedU = new Float64Array(k * used.length);
  used.forEach((m, p) => {
    packedCols.set(cols.subarray(kept[m]! * size + r0, kept[m]! * size + r1), p * rows);
    for (let j = 0; j < k; j++) packedU[j * used.length + p] = u[j * k + m]!;
  });
  gemm(
    k,
    rows,
    used.length,
    { data: packedU, stride: used.length, transposed: false },
    { data: packedCols, stride: rows, transposed: false },
    { data: out, offset: r0, stride: size },
  );
}
