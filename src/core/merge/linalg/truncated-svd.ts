/**
 * The top k singular triplets of A without its full SVD: subspace iteration on a block of p = k + oversampling
 * vectors (Halko, Martinsson & Tropp 2011, algorithm 4.4, with a Rayleigh–Ritz step each round). Each round costs two
 * products with A (2·m·n·p), two orthonormalisations and a p × p eigendecomposition, against ~10·r³ for the full
 * SVD, so it pays when k is a small part of r = min(m, n) and the spectrum falls off past k — the case of
 * fine-tuning updates, whose energy sits in few directions. It stops when every kept triplet satisfies
 * ‖A v_j − σ_j u_j‖ ≤ RESIDUAL·σ_1, and falls back to the full SVD when that is not met within the work of one
 * full SVD (a flat spectrum around k, where the top-k subspace is barely defined; the rate of the first rounds
 * tells that early), so the result is always a converged one.
 */
import { mulberry32 } from "../../random.js";
import { matrix, multiply, transpose, type Matrix } from "./dense.js";
import { thinSvd, type ThinSvd } from "./svd.js";

/** Largest residual of a kept triplet, relative to σ_1. */
const RESIDUAL = 1e-9;

/**
 * Orthonormalises the rows of t in place (modified Gram–Schmidt, twice); a row that lies numerically in the span of
 * the earlier ones becomes zero. The block's vectors are kept as ROWS throughout, so that every inner loop runs over
 * a whole vector (m or n values) rather than over the p vectors.
 */
export function orthonormaliseRows(t: Matrix): Matrix {
  const { rows: p, cols: m } = t;
  const d = t.data;
  for (let i = 0; i < p; i++) {
    const row = i * m;
    let original = 0;
    for (let k = 0; k < m; k++) original += d[row + k]! * d[row + k]!;
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < i; j++) {
        const other = j * m;
        let dot = 0;
        for (let k = 0; k < m; k++) dot += d[row + k]! * d[other + k]!;
        if (dot === 0) continue;
        for (let k = 0; k < m; k++) d[row + k]! -= dot * d[other + k]!;
      }
    }
    let norm = 0;
    for (let k = 0; k < m; k++) norm += d[row + k]! * d[row + k]!;
    const scale = norm > 1e-24 * original && norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let k = 0; k < m; k++) d[row + k]! *= scale;
  }
  return t;
}

/** The first k columns of each factor and the first k values. */
function leading(svd: ThinSvd, k: number): ThinSvd {
  const cut = (a: Matrix) => {
    const out = matrix(a.rows, k);
    for (let i = 0; i < a.rows; i++) for (let j = 0; j < k; j++) out.data[i * k + j] = a.data[i * a.cols + j]!;
    return out;
  };
  return { u: cut(svd.u), s: svd.s.slice(0, k), v: cut(svd.v) };
}

export interface TruncatedSvdOptions {
  /** Extra vectors in the block beyond k (default max(10, k/2)). */
  oversampling?: number;
  /** Seed of the starting block (default 0): the result does not depend on it beyond rounding once converged. */
  seed?: number;
}

export interface TruncatedSvdResult {
  svd: ThinSvd;
  /** "iterated": subspace iteration converged in `rounds`; "full": the full SVD, cut to k. */
  path: "iterated" | "full";
  rounds: number;
}

/** The k leading singular triplets of a (k ≤ min(m, n)), as thinSvd's first k columns. */
export function truncatedSvd(a: Matrix, k: number, options: TruncatedSvdOptions = {}): ThinSvd {
  return truncatedSvdWithPath(a, k, options).svd;
}

export function truncatedSvdWithPath(a: Matrix, k: number, options: TruncatedSvdOptions = {}): TruncatedSvdResult {
  const { rows: m, cols: n } = a;
  const r = Math.min(m, n);
  const p = Math.min(r, k + (options.oversampling ?? Math.max(10, Math.ceil(k / 2))));
  const fullCost = 10 * r * r * r + 2 * m * n * r;
  const roundCost = 4 * m * n * p + 4 * (m + n) * p * p + 9 * p * p * p;
  const rounds = Math.floor(fullCost / roundCost);
  const full = (): TruncatedSvdResult => ({ svd: leading(thinSvd(a), k), path: "full", rounds: 0 });
  if (2 * p > r || rounds < 2) return full();

  const at = transpose(a);
  const random = mulberry32(options.seed ?? 0);
  // Vᵀ, Qᵀ, Uᵀ: p × n, p × m, p × m.
  let vt = orthonormaliseRows(
    matrix(
      p,
      n,
      Float64Array.from({ length: n * p }, () => 2 * random() - 1),
    ),
  );
  let previous: { ut: Matrix; s: Float64Array; vt: Matrix } | undefined;
  let lastResidual = Infinity;
  for (let round = 0; round <= rounds; round++) {
    const yt = multiply(vt, at); // (A V)ᵀ
    if (previous !== undefined) {
      const bound = RESIDUAL * previous.s[0]!;
      const residual = largestResidual(yt, previous.ut, previous.s, k);
      if (!(residual > bound)) {
        const svd = { u: transpose(previous.ut), s: previous.s, v: transpose(previous.vt) };
        return { svd: leading(svd, k), path: "iterated", rounds: round };
      }
      // The residual shrinks geometrically; give up as soon as the rate says the budget will not do.
      const rate = residual / lastResidual;
      if (round >= 2 && (rate >= 1 || round + Math.log(bound / residual) / Math.log(rate) > rounds)) break;
      lastResidual = residual;
    }
    const qt = orthonormaliseRows(yt);
    // Rayleigh–Ritz: Aᵀ Q = V_B Σ U_Bᵀ (its transpose Qᵀ A is p × n, wide), so A ≈ Q Qᵀ A = (Q U_B) Σ V_Bᵀ.
    const small = thinSvd(multiply(qt, a)); // Qᵀ A = U_B Σ V_Bᵀ: u is p × p, v is n × p
    previous = { ut: multiply(transpose(small.u), qt), s: small.s, vt: transpose(small.v) };
    vt = previous.vt;
  }
  return full();
}

/** max_j<k ‖A v_j − σ_j u_j‖, given yt = (A·V)ᵀ of the previous round's V and its Uᵀ. */
function largestResidual(yt: Matrix, ut: Matrix, s: Float64Array, k: number): number {
  const m = yt.cols;
  let worst = 0;
  for (let j = 0; j < k; j++) {
    let squares = 0;
    const sj = s[j]!;
    for (let i = 0; i < m; i++) {
      const d = yt.data[j * m + i]! - sj * ut.data[j * m + i]!;
      squares += d * d;
    }
    worst = Math.max(worst, Math.sqrt(squares));
  }
  return worst;
}
