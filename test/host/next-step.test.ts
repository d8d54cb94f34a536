import assert from "node:assert/strict";
import { basename } from "node:path";
import { nextStep } from "../../src/host/next-step.js";
import type { SoupReport } from "../../src/protocol/worker.js";

const label = (p: string) => basename(p);
const models = ["/m/a.keras", "/m/b.keras", "/m/c.keras", "/m/d.keras"];
const score = { loss: 0.5, metric: 0.8 };
const base = {
  method: "greedy soup",
  coefficients: [0.5, 0, 0.5, 0] as number[],
  metrics: {
    ingredients: models.map((model) => ({ model, ...score })),
    uniform: score,
    merged: score,
    ensemble: score,
  },
  mergeability: [] as SoupReport["mergeability"],
} satisfies Partial<SoupReport>;
const pair = (a: number, b: number, barrier: number) => ({
  a: models[a]!,
  b: models[b]!,
  cosine: 0.7,
  midpointLoss: 0.5 + barrier,
  endpointLoss: [0.5, 0.5] as [number, number],
  barrier,
});

describe("host/next-step (what a result implies doing next)", () => {
  it("names the ingredients the greedy soup left out as harmful, never the best one", () => {
    const next = nextStep(base, { kind: "ingredient-wins", bestIngredient: 3 }, label);
    assert.equal(next.best, "/m/d.keras");
    assert.deepEqual(next.harmful?.paths, ["/m/b.keras"]);
    assert.match(next.harmful!.why, /greedy soup left out b\.keras: adding it raised the validation loss/);
  });

  it("reads a learned run that kept the greedy soup the same way, and a learned soup's coefficients not at all", () => {
    const learned = { ...base, method: "learned soup", learning: { kept: "greedy soup" } } as never;
    assert.deepEqual(nextStep(learned, { kind: "merge-wins", bestIngredient: 0 }, label).harmful?.paths, [
      "/m/b.keras",
      "/m/d.keras",
    ]);
    const own = { ...base, method: "learned soup", learning: { kept: "learned" } } as never;
    assert.equal(nextStep(own, { kind: "merge-wins", bestIngredient: 0 }, label).harmful, undefined);
  });

  it("names an ingredient that shares no basin with the others", () => {
    const report = {
      ...base,
      method: "uniform",
      coefficients: [1, 1, 1, 1],
      mergeability: [pair(0, 1, 0), pair(0, 2, 0), pair(1, 2, 0), pair(0, 3, 0.6), pair(1, 3, 0.6), pair(2, 3, 0.6)],
    };
    const next = nextStep(report, { kind: "ingredient-wins", bestIngredient: 0 }, label);
    assert.deepEqual(next.harmful?.paths, ["/m/d.keras"]);
    assert.match(next.harmful!.why, /d\.keras shares no basin with the others/);
    // No two share one: there is no group to keep, so nothing is offered.
    const apart = { ...report, mergeability: report.mergeability.map((p) => ({ ...p, barrier: 0.6 })) };
    assert.equal(nextStep(apart, { kind: "ingredient-wins", bestIngredient: 0 }, label).harmful, undefined);
  });
});
