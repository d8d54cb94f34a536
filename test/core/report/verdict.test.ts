import assert from "node:assert/strict";
import { soupVerdict, stopReason, type VerdictInput } from "../../../src/core/report/verdict.js";

const m = (metric: number, loss = 0.3) => ({ metric, loss });

function accuracy(
  ingredients: number[],
  uniform: number,
  merged: number | undefined,
  ensemble: number,
  method = "learned soup",
): VerdictInput {
  return {
    metricName: "accuracy",
    method,
    metrics: {
      ingredients: ingredients.map((a) => m(a)),
      uniform: m(uniform),
      ...(merged !== undefined ? { merged: m(merged) } : {}),
      ensemble: m(ensemble),
    },
  };
}

describe("soupVerdict", () => {
  it("names the learned soup when it beats every ingredient, with its gain and its gap to the ensemble", () => {
    const v = soupVerdict(accuracy([0.9, 0.93, 0.92], 0.935, 0.941, 0.945));
    assert.equal(v.kind, "merge-wins");
    assert.equal(v.bestIngredient, 1);
    assert.equal(
      v.text,
      "The learned soup is the best single-size model: +1.1 points over the best ingredient (ingredient 2), 0.4 below the ensemble.",
    );
  });

  it("says to keep the best ingredient when no merge beats it", () => {
    const v = soupVerdict(accuracy([0.9, 0.91, 0.9, 0.92, 0.95], 0.93, 0.94, 0.96, "greedy soup"));
    assert.equal(v.kind, "ingredient-wins");
    assert.equal(v.text, "No merge beat the best ingredient (ingredient 5): keep it, or add data.");
  });

  it("counts a difference that rounds to 0.0 points as no gain", () => {
    assert.equal(soupVerdict(accuracy([0.9, 0.95], 0.9, 0.9504, 0.96)).kind, "ingredient-wins");
  });

  it("names the uniform soup when it beats the learned one, and says by how much", () => {
    const v = soupVerdict(accuracy([0.9, 0.91], 0.95, 0.93, 0.95));
    assert.equal(
      v.text,
      "The uniform soup is the best single-size model: +4.0 points over the best ingredient (ingredient 2), level with the ensemble; the learned soup scored 2.0 less.",
    );
  });

  it("reads MAE as lower-is-better", () => {
    const v = soupVerdict({
      metricName: "mae",
      method: "greedy soup",
      metrics: { ingredients: [m(0.5), m(0.4)], uniform: m(0.45), merged: m(0.35), ensemble: m(0.3) },
    });
    assert.equal(
      v.text,
      "The greedy soup is the best single-size model: 0.050 lower MAE than the best ingredient (ingredient 2), 0.050 below the ensemble.",
    );
  });

  it("names no winner without labels", () => {
    const v = soupVerdict({
      metricName: "entropy",
      metrics: { ingredients: [m(0.5), m(0.4)], uniform: m(0.2), merged: m(0.1), ensemble: m(0.3) },
    });
    assert.equal(v.kind, "no-labels");
    assert.match(v.text, /judge the merge on labelled data/);
  });

  it("compares the uniform soup alone when the report has no merged soup (evaluate)", () => {
    const v = soupVerdict(accuracy([0.9, 0.91], 0.93, undefined, 0.935, undefined as unknown as string));
    assert.match(v.text, /^The uniform soup is the best single-size model: \+2\.0 points/);
  });
});

describe("stopReason", () => {
  it("explains an early stop with the step kept", () => {
    assert.equal(
      stopReason({ steps: 25, budget: { maxSteps: 60 }, bestStep: 10, stoppedBy: "early-stopping", kept: "learned" }),
      "Stopped early at step 25 of 60: the validation loss stopped improving, so the soup of step 10 is kept.",
    );
  });
  it("says when the whole budget ran, and when a candidate was kept instead of a learned soup", () => {
    assert.equal(
      stopReason({ steps: 60, budget: { maxSteps: 60 }, bestStep: 0, stoppedBy: "budget", start: "uniform soup" }),
      "Ran all 60 steps of the budget; the start (uniform soup) is kept (lowest validation loss).",
    );
    assert.equal(
      stopReason({
        steps: 12,
        budget: { maxSteps: 60 },
        bestStep: 0,
        stoppedBy: "early-stopping",
        kept: "ingredient 5",
      }),
      "Stopped early at step 12 of 60: the validation loss stopped improving, so ingredient 5 is kept: no learned soup had a lower validation loss.",
    );
  });
});
