/**
 * Householder reduction of a symmetric matrix to tridiagonal form, blocked as LAPACK's dsytrd/dlatrd do it, and
 * the product of its reflectors with a matrix, blocked as dormtr/dlarft/dlarfb do it. The matrix is row-major and
 * only its upper triangle is read or kept (row i from column i on), which is LAPACK's lower-triangle variant with
 * rows for columns: reflector i annihilates row i beyond column i + 1, and its vector stays in that row.
 *
 * The reduction of each panel of PANEL columns reads the trailing matrix once per column (a symmetric matrix-vector
 * product, memory-bound), and the trailing matrix takes the panel's rank-2·PANEL update in one matrix product
 * (gemm.ts): half of the 4/3·n³ flops run at the product's speed, where the unblocked tred2 ran all of them as
 * rank-2 updates.
 */
import { gemm } from "./gemm.js";

const PANEL = 64;

export interface Tridiagonal {
  /** Diagonal, n values. */
  d: Float64Array;
  /** Off-diagonal, n − 1 values: e[i] is T[i][i + 1]. */
  e: Float64Array;
  /** Scale of reflector i (H_i = I − tau[i]·v_i v_iᵀ), n − 1 values; 0 where no reflection was needed. */
  tau: Float64Array;
}

/**
 * Generates the reflector of x = a[at .. at + len) (len ≥ 1): H x = β e_1 with H = I − τ v vᵀ, v[0] = 1. Overwrites
 * x[1..] with v[1..] and returns [β, τ] (dlarfg).
 */
function reflector(a: Float64Array, at: number, len: number): [number, number] {
  const alpha = a[at]!;
  let scale = 0;
  for (let k = 1; k < len; k++) scale = Math.max(scale, Math.abs(a[at + k]!));
  if (scale === 0) return [alpha, 0];
  let sum = 0;
  for (let k = 1; k < len; k++) {
    const x = a[at + k]! / scale;
    sum += x * x;
  }
  const xnorm = scale * Math.sqrt(sum);
  const beta = -Math.sign(alpha || 1) * Math.hypot(alpha, xnorm);
  const tau = (beta - alpha) / beta;
  const f = 1 / (alpha - beta);
  for (let k = 1; k < len; k++) a[at + k]! *= f;
  return [beta, tau];
}

/**
 * Reduces the symmetric n × n matrix whose upper triangle is in a (row-major) to T = Qᵀ A Q, Q = H_0 H_1 ⋯ H_{n−2}.
 * Overwrites a: row i holds v_i from column i + 1 on (v_i[i + 1] = 1 is stored); the rest of a is scratch.
 */
export function reduceToTridiagonal(a: Float64Array, n: number): Tridiagonal {
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(n - 1, 0));
  const tau = new Float64Array(Math.max(n - 1, 0));
  if (n === 0) return { d, e, tau };
  // W of the panel, transposed: row q is w_q (columns beyond its reflector's row).
  const wt = new Float64Array(PANEL * n);
  const y = new Float64Array(n);
  const t1 = new Float64Array(PANEL);
  const t2 = new Float64Array(PANEL);
  for (let j0 = 0; j0 < n - 1; j0 += PANEL) {
    const b = Math.min(PANEL, n - 1 - j0);
    for (let k = 0; k < b; k++) {
      const i = j0 + k;
      const row = i * n;
      // Row i (column i of A, from the diagonal on) with the panel's earlier updates: −V W_iᵀ − W V_iᵀ.
      for (let q = 0; q < k; q++) {
        const vq = (j0 + q) * n;
        const wq = q * n;
        const wi = wt[wq + i]!;
        const vi = a[vq + i]!;
        for (let c = i; c < n; c++) a[row + c]! -= a[vq + c]! * wi + wt[wq + c]! * vi;
      }
      d[i] = a[row + i]!;
      const [beta, t] = reflector(a, row + i + 1, n - i - 1);
      e[i] = beta;
      tau[i] = t;
      a[row + i + 1] = 1;
      const wk = k * n;
      wt.fill(0, wk, wk + n);
      if (t === 0) continue;
      symmetricProduct(a, n, row, i + 1, y);
      // The panel's pending update of the trailing matrix: y −= V (Wᵀ v) + W (Vᵀ v).
      for (let q = 0; q < k; q++) {
        const vq = (j0 + q) * n;
        const wq = q * n;
        let s1 = 0;
        let s2 = 0;
        for (let c = i + 1; c < n; c++) {
          const v = a[row + c]!;
          s1 += a[vq + c]! * v;
          s2 += wt[wq + c]! * v;
        }
        t1[q] = s1;
        t2[q] = s2;
      }
      for (let q = 0; q < k; q++) {
        const vq = (j0 + q) * n;
        const wq = q * n;
        const x1 = t1[q]!;
        const x2 = t2[q]!;
        for (let c = i + 1; c < n; c++) y[c]! -= a[vq + c]! * x2 + wt[wq + c]! * x1;
      }
      let dot = 0;
      for (let c = i + 1; c < n; c++) dot += y[c]! * a[row + c]!;
      const alpha = -0.5 * t * t * dot;
      for (let c = i + 1; c < n; c++) wt[wk + c] = t * y[c]! + alpha * a[row + c]!;
    }
    const r0 = j0 + b;
    const nr = n - r0;
    if (nr > 0) trailingUpdate(a, n, wt, j0, b, r0, nr);
  }
  d[n - 1] = a[(n - 1) * n + (n - 1)]!;
  return { d, e, tau };
}

/**
 * y[from..n) = A[from.., from..]·v from A's upper triangle, v being a[vAt + from .. vAt + n): each row r gives y[r]
 * its dot product and y[c > r] its part of the lower triangle's. Four rows at a time, so that each v[c] and y[c]
 * loaded serves four matrix values: this memory-bound product is half of the reduction's flops.
 */
function symmetricProduct(a: Float64Array, n: number, vAt: number, from: number, y: Float64Array): void {
  y.fill(0, from, n);
  let r = from;
  for (; r + 3 < n; r += 4) {
    const a0 = r * n;
    const a1 = a0 + n;
    const a2 = a1 + n;
    const a3 = a2 + n;
    const v0 = a[vAt + r]!;
    const v1 = a[vAt + r + 1]!;
    const v2 = a[vAt + r + 2]!;
    const v3 = a[vAt + r + 3]!;
    // The 4 × 4 diagonal block, upper triangle: a01 is A[r][r+1], and so on.
    const a01 = a[a0 + r + 1]!;
    const a02 = a[a0 + r + 2]!;
    const a03 = a[a0 + r + 3]!;
    const a12 = a[a1 + r + 2]!;
    const a13 = a[a1 + r + 3]!;
    const a23 = a[a2 + r + 3]!;
    let d0 = a[a0 + r]! * v0 + a01 * v1 + a02 * v2 + a03 * v3;
    let d1 = a01 * v0 + a[a1 + r + 1]! * v1 + a12 * v2 + a13 * v3;
    let d2 = a02 * v0 + a12 * v1 + a[a2 + r + 2]! * v2 + a23 * v3;
    let d3 = a03 * v0 + a13 * v1 + a23 * v2 + a[a3 + r + 3]! * v3;
    for (let c = r + 4; c < n; c++) {
      const x0 = a[a0 + c]!;
      const x1 = a[a1 + c]!;
      const x2 = a[a2 + c]!;
      const x3 = a[a3 + c]!;
      const vc = a[vAt + c]!;
      d0 += x0 * vc;
      d1 += x1 * vc;
      d2 += x2 * vc;
      d3 += x3 * vc;
      y[c]! += x0 * v0 + x1 * v1 + x2 * v2 + x3 * v3;
    }
    y[r]! += d0;
    y[r + 1]! += d1;
    y[r + 2]! += d2;
    y[r + 3]! += d3;
  }
  for (; r < n; r++) {
    const ar = r * n;
    const vr = a[vAt + r]!;
    let dot = a[ar + r]! * vr;
    for (let c = r + 1; c < n; c++) {
      const x = a[ar + c]!;
      dot += x * a[vAt + c]!;
      y[c]! += x * vr;
    }
    y[r]! += dot;
  }
}

/** A[r0.., r0..] −= V Wᵀ + W Vᵀ (upper triangle) as one product [V W]·[W V]ᵀ of inner size 2b. */
function trailingUpdate(
  a: Float64Array,
  n: number,
  wt: Float64Array,
  j0: number,
  b: number,
  r0: number,
  nr: number,
): void {
  const left = new Float64Array(2 * b * nr);
  const right = new Float64Array(2 * b * nr);
  for (let q = 0; q < b; q++) {
    const v = a.subarray((j0 + q) * n + r0, (j0 + q) * n + n);
    const w = wt.subarray(q * n + r0, q * n + n);
    left.set(v, q * nr);
    left.set(w, (b + q) * nr);
    right.set(w, q * nr);
    right.set(v, (b + q) * nr);
  }
  gemm(
    nr,
    nr,
    2 * b,
    { data: left, stride: nr, transposed: true },
    { data: right, stride: nr, transposed: false },
    { data: a, offset: r0 * n + r0, stride: n },
    { accumulate: true, alpha: -1, upper: true },
  );
}

/**
 * Z ← Q Z for the Q of reduceToTridiagonal (reflectors in a, scales in tau), Z being n × cols row-major: blocks of
 * PANEL reflectors, last block first, each applied as I − Y T Yᵀ (the compact WY form) in two matrix products.
 */
export function applyReflectors(a: Float64Array, n: number, tau: Float64Array, z: Float64Array, cols: number): void {
  const reflectors = n - 1;
  const tri = new Float64Array(PANEL * PANEL);
  for (let j0 = Math.floor((reflectors - 1) / PANEL) * PANEL; j0 >= 0; j0 -= PANEL) {
    const b = Math.min(PANEL, reflectors - j0);
    const r0 = j0 + 1;
    const nr = n - r0;
    // Yᵀ: row q is v_{j0+q} on rows r0.. of Z (zero before its leading 1).
    const yt = new Float64Array(b * nr);
    for (let q = 0; q < b; q++) {
      const i = j0 + q;
      yt.set(a.subarray(i * n + i + 1, i * n + n), q * nr + (i + 1 - r0));
    }
    // T upper triangular with H_j0 ⋯ H_{j0+b−1} = I − Y T Yᵀ (dlarft, forward, columnwise), from YᵀY.
    const yty = new Float64Array(b * b);
    gemm(
      b,
      b,
      nr,
      { data: yt, stride: nr, transposed: false },
      { data: yt, stride: nr, transposed: true },
      { data: yty, stride: b },
      { upper: true },
    );
    tri.fill(0);
    for (let q = 0; q < b; q++) {
      const t = tau[j0 + q]!;
      tri[q * PANEL + q] = t;
      if (t === 0 || q === 0) continue;
      for (let p = 0; p < q; p++) tri[p * PANEL + q] = -t * yty[p * b + q]!;
      // T[0:q, q] = T[0:q, 0:q] · (−τ Y[:, 0:q]ᵀ y_q), T upper triangular.
      for (let p = 0; p < q; p++) {
        let s = 0;
        for (let r = p; r < q; r++) s += tri[p * PANEL + r]! * tri[r * PANEL + q]!;
        tri[p * PANEL + q] = s;
      }
    }
    // W = Yᵀ Z (b × cols); W ← T W; Z −= Y W.
    const w = new Float64Array(b * cols);
    gemm(
      b,
      cols,
      nr,
      { data: yt, stride: nr, transposed: false },
      { data: z, offset: r0 * cols, stride: cols, transposed: false },
      { data: w, stride: cols },
    );
    for (let p = 0; p < b; p++) {
      const wp = p * cols;
      const diagonal = tri[p * PANEL + p]!;
      for (let c = 0; c < cols; c++) w[wp + c]! *= diagonal;
      for (let r = p + 1; r < b; r++) {
        const f = tri[p * PANEL + r]!;
        if (f === 0) continue;
        const wr = r * cols;
        for (let c = 0; c < cols; c++) w[wp + c]! += f * w[wr + c]!;
      }
    }
    gemm(
      nr,
      cols,
      b,
      { data: yt, stride: nr, transposed: true },
      { data: w, stride: cols, transposed: false },
      { data: z, offset: r0 * cols, stride: cols },
      { accumulate: true, alpha: -1 },
    );
  }
}
