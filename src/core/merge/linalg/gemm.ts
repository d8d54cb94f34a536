/**
 * The matrix product C = op(A)·op(B) in float64, blocked for the cache the way BLAS kernels are (Goto's scheme):
 * a KC × NC panel of op(B) and an MC × KC block of op(A) are copied into contiguous 4-wide strips, and a 4 × 4 tile
 * of C is accumulated in sixteen local variables over the whole strip. In plain JavaScript this runs at 3–5× the
 * speed of a straight i-k-j loop from 512 up (bench/svd/run.ts), because every value loaded is used four times and
 * the strips stay in the L1/L2 cache. The summation order differs from the straight loop's only by rounding.
 * Where WebAssembly SIMD is available (Node has it) the tiles are computed by gemm-wasm.ts's kernel instead, two
 * lanes per instruction: about 3× the JavaScript kernel's speed here; the packing and the update of C stay here.
 */
import { wasmKernel, type WasmKernel } from "./gemm-wasm.js";

/** op(A) is m × k: A itself (row-major m × k) or, with `transposed`, the transpose of a row-major k × m A. */
export interface Operand {
  data: Float64Array;
  /** Index of the stored array's first element (default 0): a block of a larger matrix. */
  offset?: number;
  /** Row length of the stored array. */
  stride: number;
  transposed: boolean;
}

/** Where C lies: row i, column j of C is data[offset + i·stride + j]. */
export interface Output {
  data: Float64Array;
  offset?: number;
  stride: number;
}

export interface GemmOptions {
  /** C += alpha·op(A)·op(B) instead of C = op(A)·op(B). */
  accumulate?: boolean;
  /** Scale of the product (default 1). */
  alpha?: number;
  /**
   * Only the 4 × 4 tiles that touch the diagonal or lie above it are computed (for a symmetric product such as
   * AᵀA, or a symmetric update of which only the upper triangle is kept; a caller that needs the lower mirrors it).
   */
  upper?: boolean;
  /** "js" runs the JavaScript kernel even where the WebAssembly one is available (tests compare the two). */
  kernel?: "js";
}

const MC = 128;
const KC = 256;
const NC = 2048;
/** The WebAssembly kernel's memory: packed A, packed B, and the MC × NC block of C it writes. */
const WASM_A = 0;
const WASM_B = WASM_A + MC * KC * 8;
const WASM_C = WASM_B + KC * NC * 8;
const WASM_BYTES = WASM_C + MC * NC * 8;

/** Copies op(A)[i0 .. i0+mb, p0 .. p0+kb] into 4-row strips: strip r holds rows i0+4r .. i0+4r+3, k-major. */
function packA(a: Operand, i0: number, mb: number, p0: number, kb: number, m: number, out: Float64Array): void {
  const strips = Math.ceil(mb / 4);
  const offset = a.offset ?? 0;
  for (let r = 0; r < strips; r++) {
    const base = r * kb * 4;
    for (let i = 0; i < 4; i++) {
      const row = i0 + r * 4 + i;
      if (row >= m || r * 4 + i >= mb) {
        for (let p = 0; p < kb; p++) out[base + p * 4 + i] = 0;
      } else if (a.transposed) {
        for (let p = 0; p < kb; p++) out[base + p * 4 + i] = a.data[offset + (p0 + p) * a.stride + row]!;
      } else {
        const at = offset + row * a.stride + p0;
        for (let p = 0; p < kb; p++) out[base + p * 4 + i] = a.data[at + p]!;
      }
    }
  }
}

/** Copies op(B)[p0 .. p0+kb, j0 .. j0+nb] into 4-column strips, k-major. */
function packB(b: Operand, p0: number, kb: number, j0: number, nb: number, n: number, out: Float64Array): void {
  const strips = Math.ceil(nb / 4);
  const offset = b.offset ?? 0;
  for (let q = 0; q < strips; q++) {
    const base = q * kb * 4;
    const col = j0 + q * 4;
    const w = Math.min(4, n - col, nb - q * 4);
    for (let p = 0; p < kb; p++) {
      const o = base + p * 4;
      for (let j = 0; j < 4; j++) {
        if (j >= w) out[o + j] = 0;
        else if (b.transposed) out[o + j] = b.data[offset + (col + j) * b.stride + p0 + p]!;
        else out[o + j] = b.data[offset + (p0 + p) * b.stride + col + j]!;
      }
    }
  }
}

/** C (m × n, row-major, overwritten) = op(A) (m × k) · op(B) (k × n); `upper` as in GemmOptions. */
export function gemmInto(
  m: number,
  n: number,
  k: number,
  a: Operand,
  b: Operand,
  c: Float64Array,
  upper = false,
): void {
  gemm(m, n, k, a, b, { data: c, stride: n }, { upper });
}

/** C = op(A)·op(B), or C += alpha·op(A)·op(B) with `accumulate`, C being any m × n block (Output). */
export function gemm(
  m: number,
  n: number,
  k: number,
  a: Operand,
  b: Operand,
  out: Output,
  options: GemmOptions = {},
): void {
  const { accumulate = false, alpha = 1, upper = false } = options;
  const c = out.data;
  const c0 = out.offset ?? 0;
  const ldc = out.stride;
  if (!accumulate) for (let i = 0; i < m; i++) c.fill(0, c0 + i * ldc, c0 + i * ldc + n);
  if (k === 0) return;
  const wasm = options.kernel === "js" ? undefined : wasmKernel(WASM_BYTES);
  if (wasm !== undefined) {
    wasmProduct(wasm, m, n, k, a, b, out, alpha, upper);
    return;
  }
  const pa = new Float64Array(MC * KC);
  const pb = new Float64Array(KC * NC);
  const tile = new Float64Array(16);
  for (let jc = 0; jc < n; jc += NC) {
    const nb = Math.min(NC, n - jc);
    const colStrips = Math.ceil(nb / 4);
    for (let pc = 0; pc < k; pc += KC) {
      const kb = Math.min(KC, k - pc);
      packB(b, pc, kb, jc, nb, n, pb);
      for (let ic = 0; ic < m; ic += MC) {
        const mb = Math.min(MC, m - ic);
        if (upper && ic >= jc + nb) continue;
        packA(a, ic, mb, pc, kb, m, pa);
        const rowStrips = Math.ceil(mb / 4);
        for (let r = 0; r < rowStrips; r++) {
          const i0 = ic + r * 4;
          const h = Math.min(4, m - i0);
          const ao = r * kb * 4;
          for (let q = 0; q < colStrips; q++) {
            const j0 = jc + q * 4;
            if (upper && j0 + 4 <= i0) continue;
            const w = Math.min(4, n - j0);
            let x = ao;
            let y = q * kb * 4;
            let c00 = 0,
              c01 = 0,
              c02 = 0,
              c03 = 0,
              c10 = 0,
              c11 = 0,
              c12 = 0,
              c13 = 0;
            let c20 = 0,
              c21 = 0,
              c22 = 0,
              c23 = 0,
              c30 = 0,
              c31 = 0,
              c32 = 0,
              c33 = 0;
            for (let p = 0; p < kb; p++) {
              const a0 = pa[x]!;
              const a1 = pa[x + 1]!;
              const a2 = pa[x + 2]!;
              const a3 = pa[x + 3]!;
              const b0 = pb[y]!;
              const b1 = pb[y + 1]!;
              const b2 = pb[y + 2]!;
              const b3 = pb[y + 3]!;
              c00 += a0 * b0;
              c01 += a0 * b1;
              c02 += a0 * b2;
              c03 += a0 * b3;
              c10 += a1 * b0;
              c11 += a1 * b1;
              c12 += a1 * b2;
              c13 += a1 * b3;
              c20 += a2 * b0;
              c21 += a2 * b1;
              c22 += a2 * b2;
              c23 += a2 * b3;
              c30 += a3 * b0;
              c31 += a3 * b1;
              c32 += a3 * b2;
              c33 += a3 * b3;
              x += 4;
              y += 4;
            }
            if (alpha !== 1) {
              c00 *= alpha;
              c01 *= alpha;
              c02 *= alpha;
              c03 *= alpha;
              c10 *= alpha;
              c11 *= alpha;
              c12 *= alpha;
              c13 *= alpha;
              c20 *= alpha;
              c21 *= alpha;
              c22 *= alpha;
              c23 *= alpha;
              c30 *= alpha;
              c31 *= alpha;
              c32 *= alpha;
              c33 *= alpha;
            }
            if (h === 4 && w === 4) {
              let o = c0 + i0 * ldc + j0;
              c[o]! += c00;
              c[o + 1]! += c01;
              c[o + 2]! += c02;
              c[o + 3]! += c03;
              o += ldc;
              c[o]! += c10;
              c[o + 1]! += c11;
              c[o + 2]! += c12;
              c[o + 3]! += c13;
              o += ldc;
              c[o]! += c20;
              c[o + 1]! += c21;
              c[o + 2]! += c22;
              c[o + 3]! += c23;
              o += ldc;
              c[o]! += c30;
              c[o + 1]! += c31;
              c[o + 2]! += c32;
              c[o + 3]! += c33;
            } else {
              tile[0] = c00;
              tile[1] = c01;
              tile[2] = c02;
              tile[3] = c03;
              tile[4] = c10;
              tile[5] = c11;
              tile[6] = c12;
              tile[7] = c13;
              tile[8] = c20;
              tile[9] = c21;
              tile[10] = c22;
              tile[11] = c23;
              tile[12] = c30;
              tile[13] = c31;
              tile[14] = c32;
              tile[15] = c33;
              for (let i = 0; i < h; i++)
                for (let j = 0; j < w; j++) c[c0 + (i0 + i) * ldc + j0 + j]! += tile[i * 4 + j]!;
            }
          }
        }
      }
    }
  }
}

function wasmProduct(
  wasm: WasmKernel,
  m: number,
  n: number,
  k: number,
  a: Operand,
  b: Operand,
  out: Output,
  alpha: number,
  upper: boolean,
): void {
  const c = out.data;
  const c0 = out.offset ?? 0;
  const ldc = out.stride;
  const buffer = wasm.memory.buffer;
  const pa = new Float64Array(buffer, WASM_A, MC * KC);
  const pb = new Float64Array(buffer, WASM_B, KC * NC);
  const block = new Float64Array(buffer, WASM_C, MC * NC);
  for (let jc = 0; jc < n; jc += NC) {
    const nb = Math.min(NC, n - jc);
    const colStrips = Math.ceil(nb / 4);
    const rowLength = colStrips * 4;
    for (let pc = 0; pc < k; pc += KC) {
      const kb = Math.min(KC, k - pc);
      packB(b, pc, kb, jc, nb, n, pb);
      for (let ic = 0; ic < m; ic += MC) {
        const mb = Math.min(MC, m - ic);
        if (upper && ic >= jc + nb) continue;
        packA(a, ic, mb, pc, kb, m, pa);
        // With `upper`, strip r starts at the tile column that reaches the diagonal (MC and NC are multiples of 4).
        const diagonal = upper ? (ic - jc) / 4 : -(1 << 30);
        wasm.kernel(WASM_A, WASM_B, WASM_C, Math.ceil(mb / 4), colStrips, kb, diagonal);
        for (let i = 0; i < mb; i++) {
          const from = upper ? Math.max(0, ic - jc + 4 * (i >> 2)) : 0;
          const to = c0 + (ic + i) * ldc + jc;
          const at = i * rowLength;
          if (alpha === 1) for (let j = from; j < nb; j++) c[to + j]! += block[at + j]!;
          else for (let j = from; j < nb; j++) c[to + j]! += alpha * block[at + j]!;
        }
      }
    }
  }
}
