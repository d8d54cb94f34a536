/**
 * `npm run fuzz`: a long seeded run (all hostile cases, then N mutants, then the misuse cases) through the real CLI; prints the figures
 * and the failing cases, and exits 1 if any rule was broken. Options: --seed S --cases N --jobs J --keep DIR.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { findPythonWithTorch } from "../../src/core/python/find-python.js";
import { hostileCases, misuseCases, mutantCases } from "./cases.js";
import { type CaseResult, runCases } from "./harness.js";
import { summarise } from "./summary.js";

const { values } = parseArgs({
  options: {
    seed: { type: "string", default: "1" },
    cases: { type: "string", default: "2000" },
    jobs: { type: "string", default: "2" },
    json: { type: "string" },
  },
});
const seed = Number(values.seed);
const count = Number(values.cases);
const root = mkdtempSync(join(tmpdir(), "model-soup-fuzz-"));
const python = await findPythonWithTorch().catch(() => undefined);
if (!python) process.stdout.write("the PyTorch engine's cases are skipped: no Python with torch\n");
const cases = [...hostileCases(), ...mutantCases(seed, count), ...misuseCases(python?.path)];
const started = Date.now();
let done = 0;
const results: CaseResult[] = await runCases(root, cases, Number(values.jobs), undefined, (r) => {
  done++;
  if (r.problems.length)
    process.stdout.write(
      `\nFAIL ${r.id} (${r.what}): ${r.problems.join("; ")}\n  ${r.command}\n  ${r.stderr.split("\n").slice(0, 6).join("\n  ")}\n`,
    );
  else if (done % 50 === 0)
    process.stdout.write(`${done}/${cases.length} cases, ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
});
const summary = summarise(results, { seed, seconds: (Date.now() - started) / 1000 });
process.stdout.write(`\n${summary.text}\n`);
if (values.json) writeFileSync(values.json, JSON.stringify(summary.figures, null, 2));
if (summary.figures.failing === 0) rmSync(root, { recursive: true, force: true });
else process.stdout.write(`failing cases kept in ${root}\n`);
process.exitCode = summary.figures.failing === 0 ? 0 : 1;
