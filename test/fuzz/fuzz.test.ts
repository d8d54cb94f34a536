/**
 * The CI fuzz run: every hostile input, then a few dozen seeded mutants of each format, then the misuses of the
 * options that run models (--architecture, --test) and the PyTorch engine's failures (no Python, no torch, killed,
 * out of memory), through the real CLI. `npm run fuzz` runs the same harness on thousands of mutants
 * (test/fuzz/long-run.ts).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findPythonWithTorch } from "../../src/core/python/find-python.js";
import { hostileCases, misuseCases, mutantCases } from "./cases.js";
import { type CaseResult, runCases } from "./harness.js";
import { summarise } from "./summary.js";

const SEED = 20261129;
const MUTANTS = 30;

describe("fuzz: hostile and mutated inputs through the CLI", function () {
  this.timeout(600_000);
  let root: string;
  let results: CaseResult[];

  before(async () => {
    root = mkdtempSync(join(tmpdir(), "model-soup-fuzz-"));
    const python = await findPythonWithTorch().catch(() => undefined);
    if (!python)
      console.log("    (the PyTorch engine's cases are skipped: no Python with torch; CI installs python3-torch)");
    results = await runCases(root, [...hostileCases(), ...mutantCases(SEED, MUTANTS), ...misuseCases(python?.path)], 2);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("breaks no rule: exit 0/1/2, no stack trace, no hang, bounded RSS, inputs intact, nothing written outside, each misuse's one line", () => {
    const failing = results.filter((r) => r.problems.length);
    const report = failing.map(
      (r) => `${r.id} (${r.what}): ${r.problems.join("; ")}\n    ${r.command}\n    ${r.stderr.split("\n")[0]}`,
    );
    assert.equal(
      failing.length,
      0,
      `${failing.length} of ${results.length} cases broke a rule:\n  ${report.join("\n  ")}`,
    );
  });

  it("refuses every hostile input with exit 2 and a one-line message naming the file", () => {
    for (const r of results.filter((x) => x.id.startsWith("h-") && x.kind !== "special")) {
      if (r.id === "h-cycle.h5-inspect" || r.id === "h-cycle.h5-merge") continue; // a cycle no reader walks is harmless
      assert.equal(r.exitCode, 2, `${r.id}: exit ${r.exitCode}\n${r.stderr}`);
    }
    const special = results.filter((x) => x.kind === "special");
    for (const r of special) assert.equal(r.exitCode, 2, `${r.id}: exit ${r.exitCode}\n${r.stderr}`);
  });

  it("reports its figures", () => {
    const { figures } = summarise(results, { seed: SEED, seconds: 0 });
    assert.equal(figures.cases, results.length);
    assert.ok(figures.exit2 > 0 && figures.exit0 > 0, "both refusals and successes among the cases");
  });
});
