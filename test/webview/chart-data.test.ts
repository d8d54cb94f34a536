import assert from "node:assert/strict";
import type { ProgressParams, SoupReport } from "../../src/protocol/worker.js";
import {
  coefficientPath,
  keptMarks,
  mergedLabel,
  resultRows,
  resultsChart,
  seriesStyle,
} from "../../webview/chart-data.js";

const models = ["/m/a.keras", "/m/b.keras", "/m/c.keras"];
const score = (loss: number, metric: number) => ({ loss, metric });
/** A learned run of 140 steps that kept step 40 and refit it; the path's last coefficients differ from the kept ones. */
const history: ProgressParams[] = Array.from({ length: 15 }, (_, k) => ({
  phase: "learning",
  step: k * 10,
  totalSteps: 200,
  trainLoss: 1 - k / 20,
  validationLoss: 1 - k / 30,
  coefficients: [0.2 + k / 50, 0.5 - k / 50, 0.3],
}));
const report = (over: Partial<SoupReport> = {}): SoupReport => ({
  backend: "cpu",
  method: "learned soup",
  coefficients: [0.41, 0.33, 0.26],
  metricName: "accuracy",
  metrics: {
    ingredients: models.map((model, i) => ({ model, ...score(0.5 + i / 10, 0.8 - i / 20) })),
    uniform: score(0.45, 0.82),
    merged: score(0.44, 0.84),
    ensemble: score(0.4, 0.86),
    methods: [{ method: "greedy soup", ...score(0.46, 0.81) }],
  },
  mergeability: [],
  split: { learn: 100, validation: 20, test: 20, seed: 0 },
  warnings: [],
  seconds: 1,
  history,
  learning: {
    optimizer: "adam",
    budget: { maxSteps: 200, batchSize: 32, evaluateEvery: 10, patience: 100 },
    candidates: [{ name: "uniform soup", loss: 0.5 }],
    start: "uniform soup",
    kept: "learned",
    steps: 140,
    bestStep: 40,
    stoppedBy: "early-stopping",
    refit: { rows: 120, steps: 40 },
  },
  ...over,
});

describe("webview/chart-data (what the learning and results charts show)", () => {
  it("marks the kept step and the refit, and ends the coefficient path in the kept coefficients", () => {
    const kept = keptMarks(report(), 3)!;
    assert.equal(kept.step, 40);
    assert.deepEqual(kept.refit, { rows: 120, steps: 40 });
    assert.match(kept.label, /^kept: step 40, then refit \(40 steps on 120 rows\)$/);
    const path = coefficientPath(history, 3, kept);
    // The end state is the kept coefficients, after a gap, not the last step's (0.48, 0.22, 0.3).
    assert.deepEqual(
      path.series.map((s) => s.at(-1)),
      [0.41, 0.33, 0.26],
    );
    assert.ok(
      path.series.every((s) => s.at(-2) === null),
      "a gap before the end state",
    );
    assert.equal(path.steps.at(-1), path.endStep);
    assert.ok(path.endStep! > 140);
    assert.ok(
      path.steps.every((x, i) => i === 0 || x > path.steps[i - 1]!),
      "steps increase",
    );
    // Before the run ended: the path as learned, no end state.
    const live = coefficientPath(history, 3, undefined);
    assert.equal(live.endStep, undefined);
    assert.equal(live.steps.length, 15);
  });

  it("at layer granularity ends in each ingredient's mean over the layers, and says how many", () => {
    const kept = keptMarks(report({ coefficients: { dense: [0.2, 0.4, 0.4], dense_1: [0.6, 0.2, 0.2] } }), 3)!;
    assert.deepEqual(
      kept.end.map((v) => v.toFixed(2)),
      ["0.40", "0.30", "0.30"],
    );
    assert.equal(kept.layers, 2);
  });

  it("when a candidate was kept over the learned path: no kept step, the candidate named, and the merged row says so", () => {
    const greedy = report({
      coefficients: [0.5, 0.5, 0],
      learning: { ...report().learning!, kept: "greedy soup" },
    });
    const kept = keptMarks(greedy, 3)!;
    assert.equal(kept.step, undefined);
    assert.equal(kept.refit, undefined);
    assert.match(kept.label, /greedy soup/);
    assert.deepEqual(kept.end, [0.5, 0.5, 0]);
    assert.equal(mergedLabel(greedy), "Merged (greedy soup, kept over the learned soup)");
    assert.equal(mergedLabel(report()), "Merged (learned soup)");
    // The greedy soup's own row would repeat the merged one.
    assert.ok(!resultRows(greedy, (p) => p).some((r) => r.label === "Greedy soup"));
  });

  it("gives every ingredient its own look, with distinct colours for the first ten", () => {
    const looks = Array.from({ length: 40 }, (_, i) => seriesStyle(i));
    const key = (s: (typeof looks)[number]) => `${s.variable ?? s.color}|${s.dash?.join(",") ?? ""}`;
    assert.equal(new Set(looks.map(key)).size, 40);
    assert.equal(new Set(looks.slice(0, 10).map((s) => s.color)).size, 10);
    assert.ok(
      looks.slice(0, 5).every((s) => s.variable?.startsWith("--vscode-charts-")),
      "theme colours first",
    );
    // The themes' yellow looks like their orange: never both among the first nine.
    assert.ok(!looks.slice(0, 9).some((s) => s.variable === "--vscode-charts-yellow"), "no yellow before the tenth");
    assert.equal(looks[1]!.variable, "--vscode-charts-orange");
  });

  it("lists every row with the coefficient column, and charts them against the ensemble line", () => {
    const rows = resultRows(report(), (p) => p.slice(3));
    assert.deepEqual(
      rows.map((r) => [r.label, r.coefficient]),
      [
        ["Ingredient a.keras", "0.410"],
        ["Ingredient b.keras", "0.330"],
        ["Ingredient c.keras", "0.260"],
        ["Uniform soup", undefined],
        ["Merged (learned soup)", undefined],
        ["Greedy soup", undefined],
        ["Ensemble of outputs (costs N× at inference)", undefined],
      ],
    );
    const chart = resultsChart(report(), rows);
    assert.equal(chart.bars.length, 6, "every row but the ensemble is a bar");
    assert.equal(chart.reference, 0.86);
    assert.equal(chart.max, 1);
    assert.ok(chart.higherIsBetter);
    const layered = resultRows(report({ coefficients: { d: [0.2, 0.4, 0.4], e: [0.6, 0.2, 0.2] } }), (p) => p);
    assert.equal(layered[0]!.coefficient, "0.400 (mean of 2 layers)");
    const mae = resultsChart(report({ metricName: "mae" }), rows);
    assert.ok(!mae.higherIsBetter);
    assert.ok(mae.max >= 0.86);
  });
});
