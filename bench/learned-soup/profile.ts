// Where a learning step's time goes on the chosen backend: each phase of the Adam loop of learnCoefficients timed
// on its own, repeated, medians per step (and kernel counts per phase from tf.profile).
// Run: node --import tsx bench/learned-soup/profile.ts [--backend wasm|cpu] [--granularity model|layer] [--repeats N]
// (run.ts also calls profilePhases and puts its table into BENCHMARKS.md)
import * as tf from "@tensorflow/tfjs";
import { selectBackend, type BackendName } from "../../src/worker/backend.js";
import { mulberry32 } from "../../src/core/random.js";
import { gatherRows, shuffledIndices, sliceRows } from "../../src/worker/learn/batches.js";
import {
  coefficientSpace,
  coefficientsOf,
  initialTheta,
  type Granularity,
} from "../../src/worker/learn/coefficients.js";
import { scoreModel, SoupGradient } from "../../src/worker/learn/gradient.js";
import { Merger } from "../../src/worker/learn/merge.js";
import { forward, resolveObjective, sampleObjective } from "../../src/worker/learn/objective.js";
import { tensorOf } from "../../src/worker/learn/problem.js";
import { yieldToEventLoop } from "../../src/worker/learn/yield.js";
import { loadBench, type Bench } from "./setup.js";
import { median } from "../stats.js";

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

/**
 * Median milliseconds of each phase of one Adam step (and of the per-epoch validation), each phase repeated on its
 * own after a warm-up, with its kernel count from tf.profile.
 */
export async function profilePhases(bench: Bench, granularity: Granularity, repeats: number): Promise<PhaseRow[]> {
  const { learn, validation, problem } = bench;
  const objective = resolveObjective(problem.model, "supervised", learn, {
    trainingConfig: { loss: "sparse_categorical_crossentropy" },
  });
  const space = coefficientSpace(problem.layerOf, problem.ingredients.length, granularity, "simplex");
  const merger = new Merger(problem, space);
  const gradient = new SoupGradient(merger, objective);
  const theta = initialTheta(space);
  const n = learn.x.shape[0]!;
  const variables = problem.variables.map(tensorOf);
  const batch = Math.min(256, n);
  const x = learn.x.slice([0], [batch]);
  const y = learn.y!.slice([0], [batch]);
  const fakeGrads = variables.map((v) => tf.randomNormal(v.shape));
  // Alternating two coefficient vectors keeps the merge from being skipped as unchanged.
  const alphas = [
    coefficientsOf(space, theta),
    coefficientsOf(
      space,
      theta.map((t, k) => t + 0.01 * (k % 3)),
    ),
  ];
  let flip = 0;
  const phases: Array<[string, () => unknown]> = [
    ["event-loop yield (setImmediate)", () => yieldToEventLoop()],
    [
      "batch data: gather an epoch (539 rows), slice one batch",
      () => {
        const epoch = gatherRows(learn.x, shuffledIndices(n, mulberry32(flip++)));
        tf.dispose([epoch, sliceRows(epoch, 0, batch)]);
      },
    ],
    ["merge write (α → variables)", () => merger.write(alphas[flip++ % 2]!)],
    [
      "forward + backward (tf.variableGrads)",
      () => {
        variables.forEach((v) => (v.trainable = true));
        const { value, grads } = tf.variableGrads(
          () => tf.tidy(() => sampleObjective(objective, forward(problem.model, x), y).mean() as tf.Scalar),
          variables,
        );
        value.dataSync();
        tf.dispose([value, ...Object.values(grads)]);
      },
    ],
    ["N dot products per variable (∂L/∂α)", () => merger.gradAlpha(fakeGrads)],
    [
      "whole gradient step (merge + forward/backward + dots)",
      () => {
        theta[0] = theta[0]! + 1e-3; // a new θ each time, as in learning
        gradient.batch(theta, x, y);
      },
    ],
    [
      `validation pass (${validation.x.shape[0]} rows, merge included)`,
      () => {
        merger.write(alphas[flip++ % 2]!);
        return scoreModel(problem.model, objective, validation, 1024);
      },
    ],
  ];
  const rows: PhaseRow[] = [];
  try {
    for (const [name, run] of phases) {
      for (let r = 0; r < 20; r++) await run();
      const times: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const t = performance.now();
        await run();
        times.push(performance.now() - t);
      }
      const info = await tf.profile(async () => void (await run()));
      rows.push({ phase: name, ms: median(times), kernels: info.kernels.length });
    }
  } finally {
    merger.dispose();
    tf.dispose([x, y, ...fakeGrads]);
  }
  return rows;
}

export interface PhaseRow {
  readonly phase: string;
  readonly ms: number;
  readonly kernels: number;
}

if (process.argv[1]?.endsWith("profile.ts")) {
  const chosen = await selectBackend(option("backend", "wasm") as BackendName);
  const granularity = option("granularity", "model") as Granularity;
  const rows = await profilePhases(await loadBench(), granularity, Number(option("repeats", "200")));
  console.log(`backend ${chosen.backend}, granularity ${granularity}`);
  console.log("| phase | median ms | kernels |\n|---|---|---|");
  for (const r of rows) console.log(`| ${r.phase} | ${r.ms.toFixed(3)} | ${r.kernels} |`);
  console.log(`tensors alive: ${tf.memory().numTensors}`);
}
