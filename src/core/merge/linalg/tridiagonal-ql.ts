/**
 * The implicit QL algorithm with Wilkinson shifts on a symmetric tridiagonal matrix (EISPACK's tql2, as in JAMA):
 * O(n²) per eigenvalue with its rotations applied to the eigenvectors, O(n³) in all, so the divide-and-conquer
 * solver (tridiagonal-eigen.ts) uses it only on its small leaves. The rotations act on rows of the transposed
 * eigenvector matrix, which keeps them contiguous in memory.
 */
/**
 * Implicit QL on the tridiagonal (d, e): e[i] = T[i][i + 1] for i < n − 1, and e[n − 1] = 0 (e is overwritten).
 * d becomes the eigenvalues (unordered); z (n × n) is rotated with them, so that from the identity its rows become
 * the eigenvectors.
 */
export function tridiagonalQl(z: Float64Array, n: number, d: Float64Array, e: Float64Array): void {
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      for (let iteration = 0; iteration < 200; iteration++) {
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i]! -= h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          const a = i * n;
          const b = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            const zb = z[b + k]!;
            const za = z[a + k]!;
            z[b + k] = s * za + c * zb;
            z[a + k] = c * za - s * zb;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
        if (!(Math.abs(e[l]!) > eps * tst1)) break;
      }
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}
