/**
 * One definition of the uniform soup row: on one real-world-shaped family (test/fixtures/real-families: k-fold
 * Keras 2 classifiers with BatchNormalization, a custom training loss, an imbalanced table and the user's own test
 * rows), learn, greedy, evaluate and evaluate --methods print the same uniform soup figures to the last bit, and no
 * headline calls a merge the best single-size model when another single-size model has a lower test loss.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EvaluateReport, MetricPair, SoupReport } from "../../src/protocol/worker.js";
import { runCli } from "./run-cli.js";

const FAMILIES = "test/fixtures/real-families";
const KERAS2 = join(FAMILIES, "softmax", "keras2");
const DATA = ["--data", join(FAMILIES, "table.csv"), "--test", join(FAMILIES, "test.csv")];

type Report = SoupReport | EvaluateReport;

/** Runs a command in text mode with --report: the headline as printed, and the report's exact figures. */
async function run(dir: string, name: string, ...args: string[]): Promise<{ headline: string; report: Report }> {
  const path = join(dir, `${name}.json`);
  const cli = await runCli(...args, ...DATA, "--backend", "cpu", "--report", path);
  assert.equal(cli.code, 0, cli.stderr);
  return { headline: cli.stdout.split("\n")[0]!, report: JSON.parse(await readFile(path, "utf8")) as Report };
}

/** Every single-size merge a report compares, by the name its table gives it. */
function merges(report: Report): Map<string, MetricPair> {
  const out = new Map<string, MetricPair>([["uniform soup", report.metrics.uniform]]);
  if (report.metrics.merged !== undefined && report.method !== undefined) out.set(report.method, report.metrics.merged);
  for (const m of report.metrics.methods ?? []) out.set(m.method, m);
  return out;
}

/** The headline names a merge the best only when no single-size model has a lower loss. */
function assertLossRanked(headline: string, report: Report, what: string): void {
  const candidates = merges(report);
  const best = Math.min(...report.metrics.ingredients.map((i) => i.loss));
  const named = /^The (.+?) is the best single-size model/.exec(headline);
  if (named === null) {
    // No merge is called better; one may be named for its accuracy, but only with its worse loss.
    assert.doesNotMatch(headline, /is the best single-size model/, `${what}: ${headline}`);
    return;
  }
  const winner = candidates.get(named[1]!);
  assert.ok(winner, `${what}: "${named[1]}" is one of ${[...candidates.keys()].join(", ")}`);
  assert.ok(winner.loss < best, `${what}: ${headline}`);
  for (const [name, m] of candidates)
    assert.ok(m.loss >= winner.loss, `${what}: ${name} has a lower loss: ${headline}`);
}

describe("the uniform soup row is one number in every command (real-families softmax, Keras 2, --test)", function () {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), "soup-uniform-row-"))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it("learn, greedy, evaluate and evaluate --methods agree on the uniform soup and rank their headline by the loss", async () => {
    const runs = {
      learn: await run(dir, "learn", "learn", KERAS2, "--steps", "40"),
      greedy: await run(dir, "greedy", "greedy", KERAS2, "--out", join(dir, "greedy-soup")),
      evaluate: await run(dir, "evaluate", "evaluate", KERAS2),
      methods: await run(dir, "methods", "evaluate", KERAS2, "--methods", "greedy,learned,regmean"),
    };
    const uniform = runs.evaluate.report.metrics.uniform;
    assert.ok(uniform.loss > 0 && uniform.metric > 0);
    for (const [name, r] of Object.entries(runs)) {
      assert.deepEqual(r.report.metrics.uniform, uniform, `${name}'s uniform soup row`);
      assert.deepEqual(r.report.metrics.ensemble, runs.evaluate.report.metrics.ensemble, `${name}'s ensemble row`);
      assertLossRanked(r.headline, r.report, name);
    }
    // The greedy soup row too: greedy's merge, learn's candidate row and evaluate --methods' row.
    const greedyRow = (r: Report) => {
      const { method: _name, ...figures } = merges(r).get("greedy soup") as MetricPair & { method?: string };
      return figures;
    };
    assert.deepEqual(greedyRow(runs.learn.report), runs.greedy.report.metrics.merged);
    assert.deepEqual(greedyRow(runs.methods.report), runs.greedy.report.metrics.merged);
    process.stdout.write(
      `      uniform ${(100 * uniform.metric).toFixed(2)} % / ${uniform.loss.toFixed(4)}; headlines: ${Object.values(
        runs,
      )
        .map((r) => r.headline.slice(0, 60))
        .join(" | ")}\n`,
    );
  });

  it("a --test file holding the learning data's rows is said in the report; the family's own test.csv is not", async () => {
    const path = join(dir, "same-rows.json");
    const table = join(FAMILIES, "table.csv");
    const cli = await runCli(
      "evaluate",
      KERAS2,
      "--data",
      table,
      "--test",
      table,
      "--backend",
      "cpu",
      "--report",
      path,
    );
    assert.equal(cli.code, 0, cli.stderr);
    const line = `${table}: every test row is also a row of the learning data ${table}: the test scores are not of held-out rows.`;
    assert.ok(cli.stdout.includes(`warning: ${line}`), cli.stdout);
    assert.ok((JSON.parse(await readFile(path, "utf8")) as Report).warnings.includes(line));
    const own = await run(dir, "own-test", "evaluate", KERAS2);
    assert.ok(!own.report.warnings.some((w) => w.includes("held-out rows")), own.report.warnings.join("\n"));
  });
});
