import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { runCli } from "./run-cli.js";

interface Row {
  model: string;
  metric: number;
}

describe("model-soup demo", function () {
  it("by default learns a soup of the five specialists: each knows four digits, the soup is one generalist, and the verdict names the uniform soup, the best specialist and the ensemble", async () => {
    const json = await runCli("demo", "--json", "--backend", "cpu");
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout); // --json prints the report and nothing else
    const specialists: Row[] = report.metrics.ingredients;
    assert.deepEqual(
      specialists.map((m) => m.model.split(/[\\/]/).at(-2)),
      ["classes-0123", "classes-2345", "classes-4567", "classes-6789", "classes-8901"],
    );
    // A specialist never saw six of the ten digits: below half the test rows.
    for (const m of specialists) assert.ok(m.metric < 0.5, `${m.model}: ${m.metric}`);
    const best = Math.max(...specialists.map((m) => m.metric));
    assert.ok(report.metrics.uniform.metric > best + 0.3, "one base: their average is a generalist");
    assert.ok(report.metrics.merged.metric > best + 0.3, "so is the learned soup");
    assert.ok(existsSync(report.output.model), "the learned soup is written");
    assert.equal(report.learning.candidates.length, 7);

    const text = await runCli("demo", "--backend", "cpu");
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /^Learning the coefficients of a soup of 5 digit specialists, each fine-tuned on 4 of the 10 digits \(model granularity\)\.\.\.$/m,
    );
    assert.match(
      text.stdout,
      /^Learned soup: \d+\.\d\d% test accuracy at the size of one model \([\d.]+ s\)\. It (ties|is (above|below)) the uniform soup \(\d+\.\d\d%\)[^,]*, is above the best single model on test, classes-\d{4} \(\d+\.\d\d%\) by \d+ of 180 test rows, and (ties|is (above|below)) the output ensemble of all 5 at 5× the cost \(\d+\.\d\d%\)/m,
    );
  });

  it("with --sample mixed learns a soup of the seven digits classifiers: the harmful two hurt the uniform soup, the learned soup recovers", async () => {
    const json = await runCli("demo", "--sample", "mixed", "--json", "--backend", "cpu");
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    assert.equal(report.metrics.ingredients.length, 7);
    const good = report.metrics.ingredients.slice(0, 5).map((m: Row) => m.metric);
    assert.ok(
      report.metrics.uniform.metric < Math.min(...good),
      "the two harmful models pull the uniform soup below every good model",
    );
    assert.ok(report.metrics.merged.metric > report.metrics.uniform.metric, "the learned soup recovers");
    assert.ok(report.learning.start !== "uniform soup" && report.learning.candidates.length === 9);
  });

  it("refuses an unknown sample in one line", async () => {
    const run = await runCli("demo", "--sample", "nope");
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--sample must be one of specialists, mixed; got "nope"/);
  });
});
