/**
 * Eigenvalues and eigenvectors of D + ρ z zᵀ (D diagonal, increasing; ρ > 0; z with no negligible entry), the merge
 * step of the divide-and-conquer eigensolver (LAPACK's dlaed4 and dlaed3). Each eigenvalue λ_j is a root of the
 * secular equation f(λ) = 1 + ρ Σ z_i² / (d_i − λ) between d_j and d_{j+1}; it is found as an offset τ from the
 * nearer pole, so that every d_i − λ_j is known to full relative precision, by a safeguarded rational iteration
 * (a two-pole model of f fitted to its value and slope, Bunch–Nielsen–Sorensen; bisection when a step leaves the
 * bracket). The eigenvectors come from Gu and Eisenstat's recomputed ẑ (the z for which the computed λ are exact),
 * which keeps them orthogonal however close the λ are.
 */

const EPS = 2 ** -52;
const MAX_ITERATIONS = 200;

export interface RankOneEigen {
  /** The K eigenvalues, increasing. */
  values: Float64Array;
  /** K × K, row j the unit eigenvector of values[j]. */
  vectors: Float64Array;
}

/** Finds root j; writes d_i − λ_j into row j of delta and returns λ_j. */
function secularRoot(d: Float64Array, z2: Float64Array, rho: number, j: number, delta: Float64Array): number {
  const k = d.length;
  const row = j * k;
  const last = j === k - 1;
  let origin = j;
  let lo = 0;
  let hi = rho;
  if (!last) {
    const half = (d[j + 1]! - d[j]!) / 2;
    let f = 1;
    for (let i = 0; i < k; i++) f += (rho * z2[i]!) / (d[i]! - d[j]! - half);
    if (f > 0) hi = half;
    else {
      origin = j + 1;
      lo = -half;
      hi = 0;
    }
  }
  const at = d[origin]!;
  for (let i = 0; i < k; i++) delta[row + i] = d[i]! - at;
  let tau = last ? hi / 2 : origin === j ? hi : lo;
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
    let psi = 0;
    let dpsi = 0;
    let phi = 0;
    let dphi = 0;
    let size = 1;
    for (let i = 0; i < k; i++) {
      const di = delta[row + i]! - tau;
      const term = (rho * z2[i]!) / di;
      size += Math.abs(term);
      if (i <= j) {
        psi += term;
        dpsi += term / di;
      } else {
        phi += term;
        dphi += term / di;
      }
    }
    const f = 1 + psi + phi;
    if (f === 0 || Math.abs(f) <= 8 * EPS * size * Math.sqrt(k)) break;
    if (f < 0) lo = tau;
    else hi = tau;
    if (hi - lo <= 2 * EPS * Math.max(Math.abs(lo), Math.abs(hi))) break;
    const da = delta[row + j]! - tau;
    let step = Number.NaN;
    if (last) {
      // f ≈ 1 + p + q / (δ_j − η): its root.
      const q = dpsi * da * da;
      const p = psi - dpsi * da;
      step = da + q / (1 + p);
    } else {
      const db = delta[row + j + 1]! - tau;
      const q = dpsi * da * da;
      const s = dphi * db * db;
      const c = 1 + psi - dpsi * da + phi - dphi * db;
      // c(δa − η)(δb − η) + q(δb − η) + s(δa − η) = 0, whose constant term is δa·δb·f.
      const b2 = -(c * (da + db) + q + s);
      const c2 = da * db * f;
      const disc = b2 * b2 - 4 * c * c2;
      if (disc >= 0) {
        const big = -0.5 * (b2 + (b2 >= 0 ? 1 : -1) * Math.sqrt(disc));
        const roots = [big === 0 ? Number.NaN : c2 / big, c === 0 ? Number.NaN : big / c];
        step = roots.find((x) => tau + x > lo && tau + x < hi) ?? Number.NaN;
      }
    }
    const next = tau + step;
    const inside = next > lo && next < hi;
    const nextTau = inside ? next : (lo + hi) / 2;
    if (nextTau === tau) break;
    tau = nextTau;
  }
  for (let i = 0; i < k; i++) delta[row + i]! -= tau;
  return at + tau;
}

export function rankOneUpdateEigen(d: Float64Array, z: Float64Array, rho: number): RankOneEigen {
  const k = d.length;
  const values = new Float64Array(k);
  const delta = new Float64Array(k * k);
  const z2 = z.map((x) => x * x);
  for (let j = 0; j < k; j++) values[j] = secularRoot(d, z2, rho, j, delta);
  // ẑ_i² = −Π_j (d_i − λ_j) / Π_{j≠i} (d_i − d_j), the product taken in ratios so that it neither over- nor
  // underflows.
  const w = new Float64Array(k);
  for (let i = 0; i < k; i++) w[i] = delta[i * k + i]!;
  for (let j = 0; j < k; j++) {
    const row = j * k;
    for (let i = 0; i < k; i++) if (i !== j) w[i]! *= delta[row + i]! / (d[i]! - d[j]!);
  }
  for (let i = 0; i < k; i++) w[i] = (z[i]! < 0 ? -1 : 1) * Math.sqrt(Math.max(-w[i]!, 0));
  for (let j = 0; j < k; j++) {
    const row = j * k;
    let norm = 0;
    for (let i = 0; i < k; i++) {
      const u = w[i]! / delta[row + i]!;
      delta[row + i] = u;
      norm += u * u;
    }
    const inv = 1 / Math.sqrt(norm);
    for (let i = 0; i < k; i++) delta[row + i]! *= inv;
  }
  return { values, vectors: delta };
}
