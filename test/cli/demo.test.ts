import assert from "node:assert/strict";
import { runCli } from "./run-cli.js";

describe("model-soup demo", function () {
  it("learns a soup of the seven digits classifiers: the harmful two hurt the uniform soup, the learned soup recovers, and the verdict says how it compares", async () => {
    const json = await runCli("demo", "--json", "--backend", "cpu");
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout); // --json prints the report and nothing else
    assert.equal(report.metrics.ingredients.length, 7);
    const good = report.metrics.ingredients.slice(0, 5).map((m: { metric: number }) => m.metric);
    assert.ok(
      report.metrics.uniform.metric < Math.min(...good),
      "the two harmful models pull the uniform soup below every good model",
    );
    assert.ok(report.metrics.merged.metric > report.metrics.uniform.metric, "the learned soup recovers");
    assert.ok(report.learning.start !== "uniform soup" && report.learning.candidates.length === 9);

    const text = await runCli("demo", "--backend", "cpu");
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /^Learned soup: \d+\.\d\d% test accuracy at the size of one model \([\d.]+ s\)\. It is above the uniform soup \(\d+\.\d\d%\) by \d+ of 180 test rows, and (ties|is (above|below)) the best single model on test, ingredient-\d/m,
    );
  });
});
