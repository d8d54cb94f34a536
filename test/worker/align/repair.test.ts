import assert from "node:assert/strict";
import type { AlignmentPlan } from "../../../src/core/align/index.js";
import { layersToRepair, renormalise, repairSoup, statistics } from "../../../src/worker/align/repair.js";
import { MixWriter, singleMix, uniformMix } from "../../../src/worker/evaluate/soup.js";
import { blobs, disposeData, mlp, problemOf, train, weightsOf } from "../learn/toy.js";

const PLAN: AlignmentPlan = {
  groups: [{ id: "hidden", size: 16, members: [], probes: [{ layer: "hidden", offset: 0 }] }],
  fixed: [],
};

describe("REPAIR", () => {
  it("sets each merged unit's pre-activation mean and spread to the interpolation of the ingredients'", async () => {
    const data = blobs(240, 1);
    const ingredients: Float32Array[][] = [];
    for (const seed of [1, 2]) {
      const model = mlp({ seed, hidden: 16, activation: "relu" });
      await train(model, data, 15, 0.02);
      ingredients.push(weightsOf(model));
      model.dispose();
    }
    const problem = problemOf(mlp({ seed: 9, hidden: 16, activation: "relu" }), ingredients);
    const layers = layersToRepair(problem, PLAN);
    assert.deepEqual(
      layers.map((l) => l.layer.name),
      ["hidden"],
    );
    const names = problem.variables.map((v) => v.name);
    const writer = new MixWriter(problem);
    try {
      const own = [];
      for (const i of [0, 1]) {
        await writer.write(singleMix(2, i));
        own.push((await statistics(problem, layers, data.x))[0]!);
      }
      await writer.write(uniformMix(2));
      const plain = (await statistics(problem, layers, data.x))[0]!;
      const overrides = await renormalise(problem, layers, uniformMix(2), data.x, writer, names);
      assert.equal(Object.keys(overrides).length, 2, "the kernel and the bias change");
      const repaired = (await statistics(problem, layers, data.x))[0]!;
      let moved = 0;
      for (let u = 0; u < 16; u++) {
        const mean = (own[0]!.mean[u]! + own[1]!.mean[u]!) / 2;
        const std = (own[0]!.std[u]! + own[1]!.std[u]!) / 2;
        assert.ok(
          Math.abs(repaired.mean[u]! - mean) < 1e-3 * (1 + Math.abs(mean)),
          `unit ${u} mean ${repaired.mean[u]} vs ${mean}`,
        );
        assert.ok(Math.abs(repaired.std[u]! - std) < 1e-3 * (1 + std), `unit ${u} std ${repaired.std[u]} vs ${std}`);
        moved += Math.abs(plain.std[u]! - std) > 1e-3 ? 1 : 0;
      }
      assert.ok(moved > 0, "the plain merge's statistics differed from the targets");
    } finally {
      writer.dispose();
      problem.model.dispose();
    }
    disposeData(data);
  });

  it("is not offered for models with BatchNormalization", async () => {
    const data = blobs(60, 2);
    const a = mlp({ seed: 1, batchNorm: true });
    const problem = problemOf(mlp({ seed: 3, batchNorm: true }), [weightsOf(a), weightsOf(a)]);
    const outcome = await repairSoup(
      problem,
      { groups: [{ id: "hidden", size: 8, members: [], probes: [{ layer: "hidden", offset: 0 }] }], fixed: [] },
      uniformMix(2),
      { learn: data, validation: data },
      problem.variables.map((v) => v.name),
    );
    assert.equal(outcome, undefined);
    a.dispose();
    problem.model.dispose();
    disposeData(data);
  });
});
