import assert from "node:assert/strict";
import {
  keptLine,
  majorityClassNote,
  soupVerdict,
  stopReason,
  verdictParagraph,
  type ScoredModel,
  type VerdictInput,
} from "../../../src/core/report/verdict.js";

const m = (loss: number, metric: number, extra: Partial<ScoredModel> = {}): ScoredModel => ({ loss, metric, ...extra });

function accuracy(
  ingredients: ScoredModel[],
  uniform: ScoredModel,
  merged: ScoredModel | undefined,
  ensemble: ScoredModel,
  method: string | undefined = "learned soup",
): VerdictInput {
  return {
    metricName: "accuracy",
    method,
    metrics: { ingredients, uniform, ...(merged !== undefined ? { merged } : {}), ensemble },
  };
}

describe("soupVerdict: merges ranked by the loss, every metric said beside it", () => {
  it("names the merge with the lowest loss, with the metric's change and its gap to the ensemble", () => {
    const v = soupVerdict(
      accuracy([m(0.4, 0.9), m(0.35, 0.93), m(0.38, 0.92)], m(0.33, 0.935), m(0.3, 0.941), m(0.28, 0.945)),
    );
    assert.equal(v.kind, "merge-wins");
    assert.equal(v.bestIngredient, 1);
    assert.equal(
      v.text,
      "The learned soup is the best single-size model: loss 0.3000 against 0.3500 for the best ingredient (ingredient 2), accuracy +1.1 points; loss 0.0200 above the ensemble's.",
    );
    assert.deepEqual(v.notes, []);
  });

  it("the best ingredient is the one with the lowest loss, not the most accurate", () => {
    const v = soupVerdict(accuracy([m(0.3, 0.8), m(0.5, 0.85)], m(0.6, 0.84), undefined, m(0.29, 0.86), undefined));
    assert.equal(v.bestIngredient, 0);
  });

  it("never calls a merge better for its accuracy when its loss is worse (the imbalanced trap), and says both", () => {
    // The uniform soup of k-fold models trained apart: it predicts no positive, so it scores the negatives' share.
    const input: VerdictInput = {
      ...accuracy(
        [m(0.4876, 0.8432, { balancedAccuracy: 0.7, auc: 0.86 }), m(0.5, 0.84, { balancedAccuracy: 0.69, auc: 0.85 })],
        m(0.6826, 0.8479, { balancedAccuracy: 0.5, auc: 0.8 }),
        undefined,
        m(0.47, 0.835, { balancedAccuracy: 0.71, auc: 0.87 }),
        undefined,
      ),
      testClassCounts: [720, 129],
    };
    const v = soupVerdict(input);
    assert.equal(v.kind, "ingredient-wins");
    assert.equal(
      v.text,
      "No merge beat the best ingredient (ingredient 1) on loss: the uniform soup scores accuracy +0.5 points, balanced accuracy −20.0 points, AUC −0.060, but its loss is 0.6826 against 0.4876; keep the best ingredient, or add data.",
    );
    assert.deepEqual(v.notes, [
      'Class 0 holds 84.8 % of the test rows: accuracy alone would call "always class 0" 84.8 %; see balanced accuracy and AUC.',
    ]);
    assert.equal(verdictParagraph(v), `${v.text} ${v.notes[0]}`);
  });

  it("calls a merge with a lower loss the best, and says when its accuracy is lower", () => {
    const v = soupVerdict(
      accuracy(
        [m(0.5, 0.85, { balancedAccuracy: 0.7 })],
        m(0.45, 0.84, { balancedAccuracy: 0.74 }),
        undefined,
        m(0.45, 0.84),
      ),
    );
    assert.equal(v.kind, "merge-wins");
    assert.equal(
      v.text,
      "The uniform soup is the best single-size model: loss 0.4500 against 0.5000 for the best ingredient (ingredient 1), accuracy −1.0 points, balanced accuracy +4.0 points; level with the ensemble's loss.",
    );
  });

  it("says to keep the best ingredient when no merge beats its loss, nor its accuracy", () => {
    const v = soupVerdict(
      accuracy([m(0.3, 0.9), m(0.2, 0.95)], m(0.25, 0.93), m(0.22, 0.94), m(0.18, 0.96), "greedy soup"),
    );
    assert.equal(v.kind, "ingredient-wins");
    assert.equal(v.text, "No merge beat the best ingredient (ingredient 2): keep it, or add data.");
  });

  it("counts a loss difference that rounds to zero at four decimals as no gain", () => {
    assert.equal(soupVerdict(accuracy([m(0.3, 0.9)], m(0.29996, 0.9), undefined, m(0.2, 0.9))).kind, "ingredient-wins");
    assert.equal(soupVerdict(accuracy([m(0.3, 0.9)], m(0.2999, 0.9), undefined, m(0.2, 0.9))).kind, "merge-wins");
  });

  it("names the uniform soup when its loss is below the learned one's, and says by how much", () => {
    const v = soupVerdict(accuracy([m(0.5, 0.9), m(0.45, 0.91)], m(0.3, 0.95), m(0.32, 0.93), m(0.3, 0.95)));
    assert.equal(
      v.text,
      "The uniform soup is the best single-size model: loss 0.3000 against 0.4500 for the best ingredient (ingredient 2), accuracy +4.0 points; level with the ensemble's loss; the learned soup's loss is 0.0200 higher.",
    );
  });

  it("calls a fixed merge of the panel (a method id) by its name", () => {
    const v = soupVerdict(accuracy([m(0.5, 0.9), m(0.45, 0.91)], m(0.3, 0.95), m(0.32, 0.93), m(0.3, 0.95), "ties"));
    assert.match(v.text, /; the TIES's loss is 0\.0200 higher\.$/);
    const won = soupVerdict(
      accuracy([m(0.5, 0.9), m(0.45, 0.91)], m(0.34, 0.95), m(0.3, 0.96), m(0.3, 0.95), "task_arithmetic"),
    );
    assert.match(won.text, /^The task arithmetic is the best single-size model/);
  });

  it("weighs the further merges of evaluate --methods with the same rule", () => {
    const v = soupVerdict({
      ...accuracy([m(0.5, 0.9)], m(0.45, 0.9), undefined, m(0.3, 0.95), undefined),
      metrics: {
        ingredients: [m(0.5, 0.9)],
        uniform: m(0.45, 0.9),
        ensemble: m(0.3, 0.95),
        methods: [
          { method: "greedy soup", ...m(0.46, 0.92) },
          { method: "RegMean", ...m(0.4, 0.91) },
        ],
      },
    });
    assert.match(v.text, /^The RegMean is the best single-size model: loss 0\.4000 against 0\.5000/);
  });

  it("reads regression by its loss, with MAE and R² beside it", () => {
    const v = soupVerdict({
      metricName: "mae",
      method: "greedy soup",
      metrics: {
        ingredients: [m(0.5, 0.5, { r2: 0.6 }), m(0.4, 0.45, { r2: 0.7 })],
        uniform: m(0.45, 0.47, { r2: 0.65 }),
        merged: m(0.35, 0.4, { r2: 0.75 }),
        ensemble: m(0.3, 0.38, { r2: 0.8 }),
      },
    });
    assert.equal(
      v.text,
      "The greedy soup is the best single-size model: loss 0.3500 against 0.4000 for the best ingredient (ingredient 2), MAE −0.050, R² +0.050; loss 0.0500 above the ensemble's.",
    );
  });

  it("names no winner without labels", () => {
    const v = soupVerdict({
      metricName: "entropy",
      metrics: {
        ingredients: [m(0.5, 0.5), m(0.4, 0.4)],
        uniform: m(0.2, 0.2),
        merged: m(0.1, 0.1),
        ensemble: m(0.3, 0.3),
      },
    });
    assert.equal(v.kind, "no-labels");
    assert.match(v.text, /judge the merge on labelled data/);
  });
});

describe("soupVerdict of a learned run: the headline and the Kept line are one decision", () => {
  const learned = (
    kept: string,
    merged: ScoredModel,
    validation = 0.456,
  ): VerdictInput & { learning: { kept: string; candidates: { name: string }[]; validation: { loss: number } } } => ({
    ...accuracy(
      [m(0.4876, 0.8432), m(0.49, 0.84), m(0.5, 0.83)],
      m(0.6471, 0.7889),
      merged,
      m(0.47, 0.8349),
      "learned soup",
    ),
    learning: {
      kept,
      candidates: [
        { name: "uniform soup" },
        { name: "a.keras" },
        { name: "b.keras" },
        { name: "c.keras" },
        { name: "greedy soup" },
      ],
      validation: { loss: validation },
    },
  });

  it("a kept learned soup that also wins on test is the best single-size model", () => {
    const input = learned("learned", m(0.4557, 0.8514));
    const v = soupVerdict(input);
    assert.equal(v.kind, "merge-wins");
    assert.equal(
      v.text,
      "The learned soup is the best single-size model: loss 0.4557 against 0.4876 for the best ingredient (ingredient 1), accuracy +0.8 points; loss 0.0143 below the ensemble's.",
    );
    assert.match(keptLine(input.learning), /^Kept: the learned soup/);
  });

  it("a kept learned soup that loses on test says so, and never tells the user to keep something else", () => {
    const input = learned("learned", m(0.49, 0.8443));
    const v = soupVerdict(input);
    assert.equal(v.kind, "ingredient-wins");
    assert.equal(
      v.text,
      "Kept the learned soup (lowest validation loss), but on the test rows it does not beat the best ingredient: loss 0.4900 against 0.4876 for the best ingredient (ingredient 1), accuracy +0.1 points.",
    );
    assert.doesNotMatch(v.text, /keep it/);
    assert.equal(
      keptLine(input.learning),
      "Kept: the learned soup (lower validation loss than every candidate); validation loss 0.4560",
    );
  });

  it("a kept single ingredient is named as the Kept line names it", () => {
    const input = learned("a.keras", m(0.4876, 0.8432), 0.486);
    const v = soupVerdict(input);
    assert.equal(v.kind, "ingredient-wins");
    assert.equal(
      v.text,
      "No merge beat a.keras (ingredient 1) on validation, so it is kept as it is (validation loss 0.4860); on the test rows it also has the lowest loss of the ingredients.",
    );
    assert.equal(
      keptLine(input.learning),
      "Kept: a.keras (no learned soup had a lower validation loss); validation loss 0.4860",
    );
    const other = soupVerdict(learned("b.keras", m(0.49, 0.84)));
    assert.match(
      other.text,
      /^No merge beat b\.keras \(ingredient 2\) on validation.*ingredient 1 has a lower loss \(0\.4876 against 0\.4900\)\.$/,
    );
  });

  it("a kept candidate soup is judged like the learned one", () => {
    const v = soupVerdict(learned("greedy soup", m(0.48, 0.85)));
    assert.match(v.text, /^The greedy soup is the best single-size model: loss 0\.4800 against 0\.4876/);
  });
});

describe("majorityClassNote", () => {
  it("speaks when one class holds at least 60 % of the rows, naming AUC only when there is one", () => {
    assert.equal(
      majorityClassNote([40, 60], false),
      'Class 1 holds 60.0 % of the test rows: accuracy alone would call "always class 1" 60.0 %; see balanced accuracy.',
    );
    assert.equal(majorityClassNote([41, 59], true), undefined);
    assert.equal(majorityClassNote([10, 10, 80], false)?.startsWith("Class 2 holds 80.0 %"), true);
    assert.equal(majorityClassNote([5], false), undefined);
    assert.equal(majorityClassNote(undefined, false), undefined);
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
