import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { matrix, multiply, transpose } from "../../../../src/core/merge/linalg/dense.js";
import { symmetricEigen } from "../../../../src/core/merge/linalg/eigen.js";
import { polarFactor, thinSvd } from "../../../../src/core/merge/linalg/svd.js";
import { taskMatrix } from "../../../../src/core/merge/linalg/task-matrix.js";
import { subspaceSizes } from "../../../../src/core/merge/methods/iso-cts.js";
import { tsvFactors } from "../../../../src/core/merge/methods/tsv-m.js";
import { summedRms, WUDI_RELATIVE_LR, wudiMerge, wudiSolve } from "../../../../src/core/merge/methods/wudi.js";
import { prepareMerge } from "../../../../src/core/merge/plan.js";
import type { MergeMethodId } from "../../../../src/core/merge/spec.js";
import { mulberry32 } from "../../../../src/core/random.js";

const FIXTURE = fileURLToPath(new URL("../../../fixtures/svd-merges/expected.json", import.meta.url));
const SCRIPT = fileURLToPath(new URL("./svd-merges-reference.py", import.meta.url));

interface Case {
  name: string;
  shape: number[];
  base: number[];
  models: number[][];
  expected: Record<string, number[]>;
  wudiObjective?: number[];
  wudi?: { steps: number; lr: number };
}
interface Fixture {
  cases: Case[];
  vector: Case;
}
const fixture = JSON.parse(readFileSync(FIXTURE, "utf8")) as Fixture;

/** Merges one tensor through the merge plan, as a recipe would: base first, then the models. */
function mergeCase(c: Case, method: MergeMethodId, params: Record<string, number> = {}): Float32Array {
  const prepared = prepareMerge({
    method,
    params,
    base: "base",
    ingredients: [{ path: "base" }, ...c.models.map((_, i) => ({ path: `m${i}` }))],
  });
  return prepared.mergeTensor({
    info: { name: c.name, layer: c.name.split(/[./]/)[0]!, shape: c.shape, dtype: "float32" },
    ingredients: [Float32Array.from(c.base), ...c.models.map((m) => Float32Array.from(m))],
  }) as Float32Array;
}

function assertNear(actual: ArrayLike<number>, expected: readonly number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  assert.ok(worst <= tolerance, `${what}: largest difference ${worst} > ${tolerance}`);
}

function randomMatrix(rows: number, cols: number, seed: number) {
  const random = mulberry32(seed);
  return matrix(
    rows,
    cols,
    Array.from({ length: rows * cols }, () => 2 * random() - 1),
  );
}

/** max |MᵀM − I| over the columns of M that are not zero. */
function orthonormalityError(m: ReturnType<typeof matrix>): number {
  const g = multiply(transpose(m), m);
  let worst = 0;
  for (let i = 0; i < g.rows; i++)
    for (let j = 0; j < g.cols; j++) worst = Math.max(worst, Math.abs(g.data[i * g.cols + j]! - (i === j ? 1 : 0)));
  return worst;
}

describe("SVD-based merges against NumPy (test/fixtures/svd-merges, from svd-merges-reference.py)", () => {
  for (const c of fixture.cases) {
    describe(`${c.name} [${c.shape.join(", ")}], ${c.models.length} fine-tunes of one base`, () => {
      it("TSV-M equals NumPy's (λ 1 and 0.7; rank fraction 1/T and 0.25)", () => {
        assertNear(mergeCase(c, "tsv_m"), c.expected.tsv_m!, 2e-5, "tsv_m");
        assertNear(mergeCase(c, "tsv_m", { lambda: 0.7 }), c.expected.tsv_m_lambda!, 2e-5, "tsv_m λ 0.7");
        assertNear(mergeCase(c, "tsv_m", { rank_fraction: 0.25 }), c.expected.tsv_m_fraction!, 2e-5, "rank 0.25");
      });
      it("Iso-C equals NumPy's (λ 1 and 1.3)", () => {
        assertNear(mergeCase(c, "iso_c"), c.expected.iso_c!, 2e-5, "iso_c");
        assertNear(mergeCase(c, "iso_c", { lambda: 1.3 }), c.expected.iso_c_lambda!, 2e-5, "iso_c λ 1.3");
      });
      it("Iso-CTS equals NumPy's (common space 0.8 and 0.5)", () => {
        assertNear(mergeCase(c, "iso_cts"), c.expected.iso_cts!, 2e-5, "iso_cts");
        assertNear(mergeCase(c, "iso_cts", { common_space: 0.5 }), c.expected.iso_cts_half!, 2e-5, "iso_cts 0.5");
      });
      it("WUDI equals NumPy's Adam, and its objective decreases step after step", () => {
        assertNear(mergeCase(c, "wudi", c.wudi!), c.expected.wudi!, 2e-5, "wudi");
        const base = Float32Array.from(c.base);
        const tasks = c.models.map((m) => taskMatrix(Float32Array.from(m), base, c.shape, c.name));
        const { objective } = wudiSolve(tasks, c.wudi!.steps, c.wudi!.lr);
        assertNear(objective, c.wudiObjective!, 1e-6 * c.wudiObjective![0]!, "objective");
        for (let i = 1; i < objective.length; i++)
          assert.ok(objective[i]! < objective[i - 1]!, `step ${i} did not decrease`);
        assert.ok(objective.at(-1)! < 0.6 * objective[0]!, "the objective falls by 40 % or more");
      });
      it("WUDI's default is scale-free: 1 % of the summed task vectors' RMS, a merge c× larger for task vectors c× larger", () => {
        const base = Float32Array.from(c.base);
        const tasks = c.models.map((m) => taskMatrix(Float32Array.from(m), base, c.shape, c.name));
        const rho = summedRms(tasks);
        const scaled = tasks.map((t) =>
          matrix(
            t.rows,
            t.cols,
            t.data.map((x) => x / rho),
          ),
        );
        const { objective } = wudiSolve(scaled, 300, WUDI_RELATIVE_LR);
        assert.ok(objective.at(-1)! < 0.5 * objective[0]!, `default step: ${objective[0]} → ${objective.at(-1)}`);
        const merged = wudiMerge(tasks, 300, 0);
        // The default is not the paper's absolute step: that one barely moves from the sum here.
        const paper = wudiMerge(tasks, 300, 1e-5);
        const moved = (m: ReturnType<typeof matrix>) =>
          Math.max(...m.data.map((x, k) => Math.abs(x - tasks.reduce((acc, t) => acc + t.data[k]!, 0))));
        assert.ok(moved(merged) > 30 * moved(paper), `default moved ${moved(merged)}, paper's ${moved(paper)}`);
        for (const scale of [1e-3, 10]) {
          const other = wudiMerge(
            tasks.map((t) =>
              matrix(
                t.rows,
                t.cols,
                t.data.map((x) => scale * x),
              ),
            ),
            300,
            0,
          );
          const worst = Math.max(...merged.data.map((x, k) => Math.abs(scale * x - other.data[k]!)));
          const size = Math.max(...merged.data.map((x) => Math.abs(scale * x)));
          assert.ok(worst < 1e-9 * size, `×${scale}: differs by ${worst} (values up to ${size})`);
        }
      });
      it("Iso-C's merged task matrix has flat singular values (rows orthogonal, of one length)", () => {
        const base = Float32Array.from(c.base);
        const merged = taskMatrix(mergeCase(c, "iso_c"), base, c.shape, c.name);
        const wide = merged.rows <= merged.cols ? merged : transpose(merged);
        const g = multiply(wide, transpose(wide));
        const s2 = g.data[0]!;
        for (let i = 0; i < g.rows; i++)
          for (let j = 0; j < g.cols; j++)
            assert.ok(Math.abs(g.data[i * g.cols + j]! - (i === j ? s2 : 0)) < 1e-4 * s2, `Gram entry ${i},${j}`);
      });
      it("TSV-M's decorrelated task singular vectors are orthonormal", () => {
        const base = Float32Array.from(c.base);
        const tasks = c.models.map((m) => taskMatrix(Float32Array.from(m), base, c.shape, c.name));
        const { u, v } = tsvFactors(tasks, 0);
        assert.ok(orthonormalityError(u) < 1e-10, "U");
        assert.ok(orthonormalityError(v) < 1e-10, "V");
        // Before decorrelation the stacked factors of different tasks overlap (the tasks share a direction).
        const raw = tasks.map((t) => thinSvd(t).u);
        const overlap = multiply(transpose(raw[0]!), raw[1]!);
        assert.ok(Math.max(...overlap.data.map(Math.abs)) > 0.05);
      });
    });
  }

  it("a tensor that is not a matrix takes base + λ·mean task vector in every method", () => {
    const c = fixture.vector;
    for (const method of ["tsv_m", "iso_c", "iso_cts"] as const) {
      assertNear(mergeCase(c, method), c.expected.mean_1!, 1e-6, method);
      assertNear(mergeCase(c, method, { lambda: 0.7 }), c.expected["mean_0.7"]!, 1e-6, `${method} λ 0.7`);
    }
    assertNear(mergeCase(c, "wudi"), c.expected.mean_1!, 1e-6, "wudi");
  });

  it("the fixture is what the NumPy script computes (when a python with numpy is found)", function () {
    const python = ["python3", "/usr/bin/python3"].find((p) => {
      try {
        execFileSync(p, ["-c", "import numpy"], { stdio: "ignore" });
        return true;
      } catch {
        return false;
      }
    });
    if (python === undefined) this.skip();
    const dir = mkdtempSync(join(tmpdir(), "svd-merges-"));
    try {
      const out = join(dir, "expected.json");
      execFileSync(python!, [SCRIPT, out], { stdio: "ignore" });
      const fresh = JSON.parse(readFileSync(out, "utf8")) as Fixture;
      fresh.cases.forEach((c, i) => {
        for (const [k, v] of Object.entries(c.expected)) assertNear(fixture.cases[i]!.expected[k]!, v, 1e-9, k);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("linear algebra of the SVD-based merges", () => {
  it("the thin SVD reconstructs tall and wide matrices with orthonormal factors", () => {
    for (const [m, n] of [
      [12, 5],
      [5, 12],
      [30, 30],
    ] as const) {
      const a = randomMatrix(m, n, m * 100 + n);
      const { u, s, v } = thinSvd(a);
      assert.ok(orthonormalityError(u) < 1e-10 && orthonormalityError(v) < 1e-10, `${m}×${n} factors`);
      for (let i = 1; i < s.length; i++) assert.ok(s[i]! <= s[i - 1]!, "decreasing");
      const us = matrix(u.rows, u.cols, u.data);
      for (let i = 0; i < us.rows; i++) for (let j = 0; j < us.cols; j++) us.data[i * us.cols + j]! *= s[j]!;
      const back = multiply(us, transpose(v));
      assertNear(back.data, Array.from(a.data), 1e-12, `${m}×${n} reconstruction`);
    }
  });

  it("the eigendecomposition of a known symmetric matrix", () => {
    // [[2, 1], [1, 2]]: eigenvalues 3 and 1, eigenvectors (1, 1)/√2 and (1, −1)/√2.
    const { values, vectors } = symmetricEigen(matrix(2, 2, [2, 1, 1, 2]));
    assertNear(values, [3, 1], 1e-15, "values");
    assert.ok(Math.abs(Math.abs(vectors.data[0]!) - Math.SQRT1_2) < 1e-15);
  });

  it("the polar factor is orthogonal and leaves an orthogonal matrix unchanged", () => {
    const p = polarFactor(randomMatrix(8, 8, 7));
    assert.ok(orthonormalityError(p) < 1e-10);
    assertNear(polarFactor(p).data, Array.from(p.data), 1e-10, "idempotent");
  });

  it("Iso-CTS splits the rank as FusionBench does", () => {
    assert.deepEqual(subspaceSizes(10, 3, 0.8), { common: 7, perTask: 1 });
    assert.deepEqual(subspaceSizes(768, 8, 0.8), { common: 616, perTask: 19 });
    assert.deepEqual(subspaceSizes(4, 8, 0.8), { common: 4, perTask: 0 });
  });
});
