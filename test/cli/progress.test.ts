import assert from "node:assert/strict";
import { progressLine } from "../../src/cli/text/progress.js";

describe("the terminal progress line", () => {
  it("shows a bar with megabytes for byte progress and counts for tensors", () => {
    assert.equal(
      progressLine({ phase: "writing", step: 250e6, totalSteps: 1e9, unit: "bytes" }),
      "writing  [######..................] 250/1000 MB",
    );
    assert.equal(
      progressLine({ phase: "writing", step: 3, totalSteps: 12, unit: "tensors" }),
      "writing  [######..................] 3/12 tensors",
    );
  });

  it("shows the step and losses while learning with no known total", () => {
    assert.equal(
      progressLine({ phase: "learning", step: 7, totalSteps: 0, trainLoss: 0.25, validationLoss: 0.3 }),
      "learning  step 7  loss 0.2500  val 0.3000",
    );
  });
});
