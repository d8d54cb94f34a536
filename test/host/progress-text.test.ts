import assert from "node:assert/strict";
import { describeProgress } from "../../src/host/progress-text.js";

describe("host/progress-text (what runs, in words)", () => {
  it("says learning with its step and loss, never a stale loading message", () => {
    assert.equal(
      describeProgress({
        phase: "learning",
        step: 5,
        totalSteps: 60,
        validationLoss: 0.12345,
        message: "Reading the data",
      }),
      "Learning the coefficients: step 5 of 60 · validation loss 0.1235",
    );
  });
  it("uses the worker's message for the other phases, with their unit", () => {
    assert.equal(
      describeProgress({
        phase: "writing",
        step: 3,
        totalSteps: 8,
        unit: "tensors",
        message: "Writing the merged model",
      }),
      "Writing the merged model (3 of 8 tensors)",
    );
    assert.equal(describeProgress({ phase: "evaluating", step: 0, totalSteps: 0 }), "Evaluating on the test split");
  });
});
