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
  /** n × n row-major; ROW j is the unit eigenvector of values[j] (rows keep every step's vector contiguous). */
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

/**
 * Eigenpairs of rows/columns [lo, hi): values into d[lo..hi) (increasing), vectors into the block q[lo.., lo..] (row
 * lo + j holds the vector of d[lo + j], on entries lo..hi).
 */
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
    q.set(z.subarray(src * m, src * m + m), (lo + t) * n + lo);
  });
}

/** Which half of the merged block's entries a vector is nonzero on (dlaed2's column types). */
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
  // Vector j of the block is q's row lo + j on entries lo..hi (zero on the other half's entries until this merge).
  const at = (j: number) => (lo + j) * n + lo;
  const dv = d.slice(lo, hi);
  const z = new Float64Array(size);
  for (let j = 0; j < n1; j++) z[j] = q[at(j) + n1 - 1]! * Math.SQRT1_2;
  for (let j = n1; j < size; j++) z[j] = sign * q[at(j) + n1]! * Math.SQRT1_2;
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
      const x = at(previous);
      const y = at(j);
      for (let r = 0; r < size; r++) {
        const a = q[x + r]!;
        const b = q[y + r]!;
        q[x + r] = c * a + s * b;
        q[y + r] = c * b - s * a;
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
    multiplyRows(q, at, size, kept, type, small.vectors, k, 0, n1, TOP, merged);
    multiplyRows(q, at, size, kept, type, small.vectors, k, n1, size, BOTTOM, merged);
    for (let j = 0; j < k; j++) {
      values.push(small.values[j]!);
      sources.push({ from: merged, at: j * size });
    }
  }
  for (const j of deflated) {
    values.push(dv[j]!);
    sources.push({ from: q, at: at(j) });
  }
  // The block's new rows, in increasing order of their values, gathered before any is written back.
  const final = Array.from({ length: size }, (_, i) => i).sort((i, j) => values[i]! - values[j]!);
  const block = new Float64Array(size * size);
  final.forEach((src, t) => {
    const { from, at: offset } = sources[src]!;
    block.set(from.subarray(offset, offset + size), t * size);
  });
  for (let t = 0; t < size; t++) {
    d[lo + t] = values[final[t]!]!;
    q.set(block.subarray(t * size, t * size + size), at(t));
  }
}

/**
 * Entries [r0, r1) of the merged eigenvectors: out[j·size + r] = Σ_m U[j][m]·vector(kept[m])[r], over the kept
 * vectors that are nonzero on these entries (the other half's vectors are zero there).
 */
function multiplyRows(
  q: Float64Array,
  at: (j: number) => number,
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
  const packedVectors = new Float64Array(used.length * rows);
  const packedU = new Float64Array(k * used.length);
  used.forEach((m, p) => {
    const from = at(kept[m]!);
    packedVectors.set(q.subarray(from + r0, from + r1), p * rows);
  });
  for (let j = 0; j < k; j++) {
    const row = j * used.length;
    for (let p = 0; p < used.length; p++) packedU[row + p] = u[j * k + used[p]!]!;
  }
  gemm(
    k,
    rows,
    used.length,
    { data: packedU, stride: used.length, transposed: false },
    { data: packedVectors, stride: rows, transposed: false },
    { data: out, offset: r0, stride: size },
  );
}
