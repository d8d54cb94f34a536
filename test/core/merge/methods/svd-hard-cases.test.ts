import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gramOfColumns, transpose } from "../../../../src/core/merge/linalg/dense.js";
import { symmetricEigen } from "../../../../src/core/merge/linalg/eigen.js";
import { taskMatrix } from "../../../../src/core/merge/linalg/task-matrix.js";
import { prepareMerge } from "../../../../src/core/merge/plan.js";
import type { MergeMethodId } from "../../../../src/core/merge/spec.js";

const SCRIPT = fileURLToPath(new URL("./svd-hard-cases-reference.py", import.meta.url));
const PYTHON = "/usr/bin/python3";

interface Case {
  name: string;
  shape: [number, number];
  base: number[];
  models: number[][];
  params: { iso_cts: number };
  expected: Record<"tsv_m" | "iso_c" | "iso_cts", number[]>;
  sumSingularValues: number[];
}

function numpyCases(): Case[] | undefined {
  try {
    execFileSync(PYTHON, ["-c", "import numpy"], { stdio: "ignore" });
  } catch {
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), "svd-hard-"));
  try {
    execFileSync(PYTHON, [SCRIPT, join(dir, "cases.json")], { stdio: "ignore" });
    return (JSON.parse(readFileSync(join(dir, "cases.json"), "utf8")) as { cases: Case[] }).cases;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function mergeCase(c: Case, method: MergeMethodId, params: Record<string, number> = {}): Float32Array {
  const prepared = prepareMerge({
    method,
    params,
    base: "base",
    ingredients: [{ path: "base" }, ...c.models.map((_, i) => ({ path: `m${i}` }))],
  });
  return prepared.mergeTensor({
    info: { name: c.name, layer: c.name.split(".")[0]!, shape: c.shape, dtype: "float32" },
    ingredients: [Float32Array.from(c.base), ...c.models.map((m) => Float32Array.from(m))],
  }) as Float32Array;
}

function worstDifference(actual: ArrayLike<number>, expected: readonly number[]): number {
  assert.equal(actual.length, expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  return worst;
}

/** Singular values of the merged task matrix, decreasing. */
function singularValues(c: Case, merged: Float32Array): number[] {
  const delta = taskMatrix(merged, Float32Array.from(c.base), c.shape, c.name);
  const { values } = symmetricEigen(gramOfColumns(delta.rows >= delta.cols ? delta : transpose(delta)));
  return Array.from(values, (x) => Math.sqrt(Math.max(x, 0)));
}

describe("SVD-based merges on ill-conditioned and rank-deficient task matrices, against NumPy", function () {
  this.timeout(60_000);
  const cases = numpyCases();
  if (cases === undefined) {
    it("needs /usr/bin/python3 with NumPy");
    return;
  }
  for (const c of cases) {
    const s = c.sumSingularValues;
    describe(`${c.name} [${c.shape.join(", ")}], ${c.models.length} tasks, σ of the sum ${s[0]!.toPrecision(2)} … ${s.at(-1)!.toPrecision(2)}`, () => {
      it("TSV-M, Iso-C and Iso-CTS equal NumPy's within 1e-6 (float32 rounding is ~6e-8 here)", () => {
        const tsv = worstDifference(mergeCase(c, "tsv_m"), c.expected.tsv_m);
        assert.ok(tsv <= 1e-6, `tsv_m: ${tsv}`);
        assert.ok(worstDifference(mergeCase(c, "iso_c"), c.expected.iso_c) <= 1e-6, "iso_c");
        const isoCts = mergeCase(c, "iso_cts", { common_space: c.params.iso_cts });
        assert.ok(worstDifference(isoCts, c.expected.iso_cts) <= 1e-6, "iso_cts");
      });
      it("Iso-C's merged task matrix has one singular value (σ̄) on the sum's range and zero off it", () => {
        const mean = s.reduce((a, b) => a + b, 0) / s.length;
        const rank = s.filter((x) => x > 1e-7 * s[0]!).length;
        const merged = singularValues(c, mergeCase(c, "iso_c"));
        // float32 output: singular values carry its rounding, ~1e-7 of the entries.
        merged.forEach((x, i) => assert.ok(Math.abs(x - (i < rank ? mean : 0)) < 1e-5 * mean, `σ_${i} = ${x}`));
      });
    });
  }
  it("the cases are what they say: two conditioned near 1e5, one exactly of rank 6", () => {
    const conditions = cases.map((c) => c.sumSingularValues[0]! / c.sumSingularValues.at(-1)!);
    assert.ok(conditions[0]! > 5e4 && conditions[1]! > 5e4, String(conditions));
    const low = cases[2]!.sumSingularValues;
    assert.equal(low.filter((x) => x > 1e-7 * low[0]!).length, 6);
  });
});
