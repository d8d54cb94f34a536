import assert from "node:assert/strict";
import { gramOfColumns, gramOfRows, matrix, product, type Matrix } from "../../../../src/core/merge/linalg/dense.js";
import { gemm } from "../../../../src/core/merge/linalg/gemm.js";
import { wasmKernel } from "../../../../src/core/merge/linalg/gemm-wasm.js";
import { mulberry32 } from "../../../../src/core/random.js";

function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  const random = mulberry32(seed);
  return matrix(
    rows,
    cols,
    Array.from({ length: rows * cols }, () => 2 * random() - 1),
  );
}

/** op(A)·op(B) by the textbook triple loop. */
function naive(a: Matrix, b: Matrix, ta: boolean, tb: boolean): Matrix {
  const at = (i: number, p: number) => (ta ? a.data[p * a.cols + i]! : a.data[i * a.cols + p]!);
  const bt = (p: number, j: number) => (tb ? b.data[j * b.cols + p]! : b.data[p * b.cols + j]!);
  const m = ta ? a.cols : a.rows;
  const k = ta ? a.rows : a.cols;
  const n = tb ? b.rows : b.cols;
  const out = matrix(m, n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += at(i, p) * bt(p, j);
      out.data[i * n + j] = s;
    }
  return out;
}

function worstDifference(x: Matrix, y: Matrix): number {
  assert.deepEqual([x.rows, x.cols], [y.rows, y.cols]);
  return Math.max(0, ...x.data.map((v, i) => Math.abs(v - y.data[i]!)));
}

describe("the blocked matrix product (src/core/merge/linalg/gemm.ts)", () => {
  // Sizes straddle the 4-wide strips and the 128 / 256 cache blocks, so every edge path runs.
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [3, 5, 2],
    [7, 9, 13],
    [130, 6, 259],
    [5, 131, 300],
    [129, 133, 257],
  ];
  for (const [m, k, n] of shapes) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        it(`${m}×${k} · ${k}×${n}${ta ? ", A transposed" : ""}${tb ? ", B transposed" : ""} equals the triple loop`, () => {
          const a = ta ? randomMatrix(k, m, m * 31 + k) : randomMatrix(m, k, m * 31 + k);
          const b = tb ? randomMatrix(n, k, n * 17 + k) : randomMatrix(k, n, n * 17 + k);
          const got = product(a, b, ta, tb);
          assert.ok(worstDifference(got, naive(a, b, ta, tb)) < 1e-12 * k);
        });
      }
    }
  }

  it("AᵀA and AAᵀ are exactly symmetric and equal the triple loop", () => {
    for (const [r, c] of [
      [300, 133],
      [9, 262],
    ] as const) {
      const a = randomMatrix(r, c, r + c);
      const g = gramOfColumns(a);
      assert.ok(worstDifference(g, naive(a, a, true, false)) < 1e-12 * r);
      const h = gramOfRows(a);
      assert.ok(worstDifference(h, naive(a, a, false, true)) < 1e-12 * c);
      for (const s of [g, h])
        for (let i = 0; i < s.rows; i++)
          for (let j = 0; j < i; j++) assert.equal(s.data[i * s.cols + j], s.data[j * s.cols + i]);
    }
  });

  it("runs the WebAssembly SIMD kernel here (Node has it), which matches the JavaScript kernel", () => {
    assert.ok(wasmKernel(1 << 20) !== undefined, "the kernel's module compiles and instantiates");
    const [m, k, n] = [9, 261, 2055];
    const a = randomMatrix(m, k, 1);
    const b = randomMatrix(k, n, 2);
    const run = (kernel?: "js") => {
      const out = new Float64Array(m * n);
      gemm(
        m,
        n,
        k,
        { data: a.data, stride: k, transposed: false },
        { data: b.data, stride: n, transposed: false },
        { data: out, stride: n },
        { kernel },
      );
      return matrix(m, n, out);
    };
    const expected = naive(a, b, false, false);
    assert.ok(worstDifference(run(), expected) < 1e-12 * k);
    assert.ok(worstDifference(run("js"), expected) < 1e-12 * k);
  });

  for (const kernel of [undefined, "js"] as const) {
    it(`C += alpha·op(A)·op(B) on blocks of larger matrices, and the upper triangle only (${kernel ?? "wasm"} kernel)`, () => {
      // A is rows 3.. and columns 2.. of a 140 × 300 array; C is rows 5.., columns 7.. of a 150 × 160 one.
      const [m, n, k] = [130, 137, 259];
      const big = randomMatrix(140, 300, 3);
      const a = matrix(m, k);
      for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) a.data[i * k + p] = big.data[(3 + i) * 300 + 2 + p]!;
      const b = randomMatrix(n, k, 4);
      const expected = naive(a, b, false, true);
      for (const upper of [false, true]) {
        const c = randomMatrix(150, 160, 5);
        const before = Float64Array.from(c.data);
        gemm(
          m,
          n,
          k,
          { data: big.data, offset: 3 * 300 + 2, stride: 300, transposed: false },
          { data: b.data, stride: k, transposed: true },
          { data: c.data, offset: 5 * 160 + 7, stride: 160 },
          { accumulate: true, alpha: -0.5, upper, kernel },
        );
        for (let i = 0; i < 150; i++)
          for (let j = 0; j < 160; j++) {
            const inside = i >= 5 && i < 5 + m && j >= 7 && j < 7 + n;
            const got = c.data[i * 160 + j]!;
            if (!inside) assert.equal(got, before[i * 160 + j], `outside C at ${i},${j}`);
            else if (!upper || j - 7 >= i - 5) {
              const want = before[i * 160 + j]! - 0.5 * expected.data[(i - 5) * n + j - 7]!;
              assert.ok(Math.abs(got - want) < 1e-12 * k, `C at ${i},${j}${upper ? " (upper)" : ""}`);
            }
          }
      }
    });
  }

  it("refuses operands whose inner sizes differ", () => {
    assert.throws(() => product(matrix(2, 3), matrix(2, 3)), /cannot multiply 2×3 by 2×3/);
  });
});
