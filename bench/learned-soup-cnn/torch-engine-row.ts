// The PyTorch engine row of bench/learned-soup-cnn: TorchEngine (engine.py in the user's Python) driven by the one
// learner, learnCoefficients, on torch_model.py's CNN with the ingredients as torch state dicts, and the learner's
// options exactly as the TF.js row takes them.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PythonWithTorch } from "../../src/core/python/find-python.js";
import { learnCoefficients, type LearnOptions } from "../../src/worker/learn/learn.js";
import { readIngredient, TorchEngine, type TorchDataSplit } from "../../src/worker/torch/torch-engine.js";
import { LOGITS_OBJECTIVE } from "../../test/worker/torch/support.js";

const HERE = dirname(fileURLToPath(import.meta.url));

export interface TorchRun {
  reached?: number;
  total: number;
  step: number;
  steps: number;
  valLoss: number;
  testLoss: number;
  testMetric: number;
  /** Seconds engine.py spent inside its write and gradient handlers per gradient request (the rest is the trip). */
  inside: number;
  coefficients: number[][];
}

export interface TorchEngineConfig {
  readonly python: PythonWithTorch;
  /** torch{i}.pt state dicts. */
  readonly files: readonly string[];
  readonly splits: { learn: TorchDataSplit; validation: TorchDataSplit; test: TorchDataSplit };
  readonly threads: number;
  readonly nproc?: number;
}

/** One engine for the configuration; `run` learns once from the uniform soup and times every step. */
export async function startTorchEngine(config: TorchEngineConfig) {
  const engine = await TorchEngine.start({
    python: config.python,
    model: { architecture: `${join(HERE, "torch_model.py")}:build` },
    ingredients: await Promise.all(config.files.map(readIngredient)),
    splits: config.splits,
    device: "cpu",
    threads: config.threads,
    ...(config.nproc !== undefined && config.nproc > 1 ? { nproc: config.nproc } : {}),
  });
  const run = async (
    options: LearnOptions,
    target: number,
    tolerance: number,
    stepsPerEpoch: number,
  ): Promise<TorchRun> => {
    let reached: number | undefined;
    const stepTimes: number[] = [];
    // Read before the clock starts: the timing request is the bench's, not the learner's.
    const before = await engine.timings();
    const start = performance.now();
    let last = start;
    const result = await learnCoefficients(engine, LOGITS_OBJECTIVE, {
      ...options,
      reestimateBatchNorm: false,
      onProgress: (p) => {
        const now = performance.now();
        if (p.validationLoss === undefined || p.step % stepsPerEpoch !== 0) stepTimes.push((now - last) / 1000);
        last = now;
        if (reached === undefined && p.validationLoss !== undefined && p.validationLoss <= target * (1 + tolerance))
          reached = (now - start) / 1000;
      },
    });
    const total = (performance.now() - start) / 1000;
    const after = await engine.timings();
    const spent = (op: string) => (after[op]?.[1] ?? 0) - (before[op]?.[1] ?? 0);
    const gradients = (after.gradient?.[0] ?? 0) - (before.gradient?.[0] ?? 0);
    const score = await engine.score({ split: "test" }, LOGITS_OBJECTIVE);
    const sorted = [...stepTimes].sort((a, b) => a - b);
    const middle = sorted.length / 2;
    return {
      reached,
      total,
      step: sorted.length % 2 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2,
      steps: result.steps,
      valLoss: result.validation!.loss,
      testLoss: score.loss,
      testMetric: score.metric!,
      inside: (spent("write") + spent("gradient")) / Math.max(gradients, 1),
      coefficients: result.coefficients,
    };
  };
  return { engine, run };
}
