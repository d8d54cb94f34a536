// Fixed soups through the same merge path as learning: given coefficients (one per ingredient, or one per
// ingredient per layer), the uniform soup, a single ingredient, the midpoint of two.
import * as tf from "@tensorflow/tfjs";
import { UsageError } from "../../core/errors.js";
import { reestimateBatchNorm, writeBatchNormStatistics, type BatchNormStatistics } from "../learn/batchnorm.js";
import type { Cancellation } from "../../core/cancellation.js";
import { coefficientSpace } from "../learn/coefficients.js";
import { Merger } from "../learn/merge.js";
import type { SoupProblem } from "../learn/problem.js";

/** Coefficients per ingredient; `groups` names their columns (["*"] or omitted: one per ingredient). */
export interface Mix {
  readonly coefficients: ReadonlyArray<readonly number[]>;
  readonly groups?: readonly string[];
}

/** A soup as it is written: its coefficients, and the re-estimated BatchNormalization statistics it was chosen with. */
export interface SoupCandidate {
  readonly mix: Mix;
  readonly statistics?: BatchNormStatistics;
}

/** One ingredient with coefficient 1 in every group, the others 0: the ingredient itself. */
export function isSingleMix(mix: Mix): boolean {
  const ones = mix.coefficients.filter((row) => row.every((c) => c === 1));
  const zeros = mix.coefficients.filter((row) => row.every((c) => c === 0));
  return ones.length === 1 && ones.length + zeros.length === mix.coefficients.length;
}

export function uniformMix(ingredients: number): Mix {
  return { coefficients: Array.from({ length: ingredients }, () => [1 / ingredients]) };
}

/** Uniform over the chosen ingredients, zero elsewhere. */
export function subsetMix(ingredients: number, chosen: readonly number[]): Mix {
  return { coefficients: Array.from({ length: ingredients }, (_, i) => [chosen.includes(i) ? 1 / chosen.length : 0]) };
}

/**
 * Writes soups into the problem's model (W = Σ α_i W_i, or base + Σ λ_i τ_i in the task-vector form); keeps the
 * stacked ingredient tensors between writes, so dispose() it when done.
 */
export class MixWriter {
  private readonly mergers = new Map<string, Merger>();

  constructor(readonly problem: SoupProblem) {}

  /** Writes `mix`; with `batchNormData`, then re-estimates BatchNormalization statistics on it. */
  async write(mix: Mix, batchNormData?: tf.Tensor, cancel?: Cancellation): Promise<void> {
    const n = this.problem.ingredients.length;
    if (mix.coefficients.length !== n) {
      throw new UsageError(`${mix.coefficients.length} coefficient rows given for ${n} ingredients.`);
    }
    const groups = mix.groups ?? ["*"];
    const granularity = groups.length === 1 && groups[0] === "*" ? "model" : "layer";
    let merger = this.mergers.get(granularity);
    if (merger === undefined) {
      merger = new Merger(this.problem, coefficientSpace(this.problem.layerOf, n, granularity, "free"));
      this.mergers.set(granularity, merger);
    }
    const space = merger.space;
    const column = space.groups.map((g) => {
      const c = groups.indexOf(g);
      if (c < 0) throw new UsageError(`No coefficients given for layer "${g}".`);
      return c;
    });
    const G = space.groups.length;
    const alpha = new Float64Array(n * G);
    mix.coefficients.forEach((row, i) => {
      if (row.length !== groups.length) {
        throw new UsageError(`Ingredient ${i} has ${row.length} coefficients, expected ${groups.length}.`);
      }
      for (let g = 0; g < G; g++) alpha[i * G + g] = row[column[g]!]!;
    });
    merger.write(alpha);
    if (batchNormData !== undefined) await reestimateBatchNorm(this.problem.model, batchNormData, undefined, cancel);
  }

  /** Writes a soup as it is written to a file: its mix, then its recorded statistics. */
  async writeCandidate(candidate: SoupCandidate): Promise<void> {
    await this.write(candidate.mix);
    if (candidate.statistics !== undefined) writeBatchNormStatistics(candidate.statistics);
  }

  dispose(): void {
    for (const m of this.mergers.values()) m.dispose();
    this.mergers.clear();
  }
}

/** One-off: writes `mix` into the model (the weighted-average and uniform merges use this). */
export async function applyMix(
  problem: SoupProblem,
  mix: Mix,
  batchNormData?: tf.Tensor,
  cancel?: Cancellation,
): Promise<void> {
  const writer = new MixWriter(problem);
  try {
    await writer.write(mix, batchNormData, cancel);
  } finally {
    writer.dispose();
  }
}

/** Ingredient i alone (coefficient 1, others 0). */
export function singleMix(ingredients: number, i: number): Mix {
  return { coefficients: Array.from({ length: ingredients }, (_, k) => [k === i ? 1 : 0]) };
}
