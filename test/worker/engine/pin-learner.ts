// Prints the learner's results on fixed seeded families as JSON (coefficients, bestStep, kept, statistics), so a
// refactor of the learner can be checked to change nothing: run it before and after, compare the two outputs.
//   node --import tsx test/worker/engine/pin-learner.ts > before.json
import * as tf from "@tensorflow/tfjs";
import { learnOnTfjs } from "../../../src/worker/engine/tfjs-learn.js";
import { blobs, fineTunes, mlp, problemOf, rowsOf } from "../learn/toy.js";

async function main(): Promise<void> {
  await tf.setBackend("cpu");
  const all = blobs(900, 21);
  const learn = rowsOf(all, 0, 600);
  const validation = rowsOf(all, 600, 900);
  const plain = await fineTunes(learn, 4);
  const bn = await fineTunes(learn, 3, { batchNorm: true, seed: 4 });
  const runs: Record<string, unknown> = {};
  const cases = [
    ...(["adam", "lbfgs"] as const).flatMap((optimizer) =>
      (["model", "layer"] as const).flatMap((granularity) => [
        { name: `mlp ${optimizer} ${granularity}`, bn: false, options: { optimizer, granularity, maxSteps: 40 } },
        { name: `bn ${optimizer} ${granularity}`, bn: true, options: { optimizer, granularity, maxSteps: 40 } },
      ]),
    ),
    { name: "mlp lbfgs subset", bn: false, options: { optimizer: "lbfgs", maxSteps: 10, fullBatchLimit: 250 } },
    { name: "mlp adam no refit", bn: false, options: { maxSteps: 60, refit: false, seed: 3, batchSize: 16 } },
    {
      name: "mlp adam nonneg uniform",
      bn: false,
      options: { parameterisation: "nonneg", startAt: "uniform", maxSteps: 30 },
    },
    { name: "bn adam always", bn: true, options: { maxSteps: 30, reestimateBatchNorm: true } },
    {
      name: "bn adam candidate",
      bn: true,
      options: { maxSteps: 30, candidates: [{ name: "pair", coefficients: [0.5, 0.5, 0] }] },
    },
    { name: "mlp task arithmetic", bn: false, base: true, options: { parameterisation: "free", maxSteps: 30 } },
    {
      name: "mlp entropy",
      bn: false,
      entropy: true,
      options: { objective: "entropy", granularity: "layer", maxSteps: 30 },
    },
  ] as const;
  for (const c of cases) {
    const family = c.bn ? bn : plain;
    const executor = mlp({ seed: c.bn ? 4 : 1, batchNorm: c.bn });
    const problem = problemOf(executor, family.ingredients, "base" in c ? family.base : undefined);
    const entropy = "entropy" in c;
    const result = await learnOnTfjs(
      problem,
      entropy ? { x: learn.x } : learn,
      entropy ? { x: validation.x } : validation,
      c.options as never,
    );
    runs[c.name] = {
      coefficients: result.coefficients,
      bestStep: result.bestStep,
      steps: result.steps,
      kept: result.kept,
      start: result.start,
      stoppedBy: result.stoppedBy,
      refit: result.refit,
      validation: result.validation,
      candidates: result.candidates,
      batchNormReestimated: result.batchNormReestimated,
      batchNormValues: result.batchNormStatistics?.values.map((v) => Array.from(v)),
      merged: problem.variables.map((v) => Array.from(v.read().dataSync()).slice(0, 6)),
    };
    executor.dispose();
  }
  process.stdout.write(JSON.stringify(runs, null, 1) + "\n");
}

void main();
