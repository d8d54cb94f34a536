// Maps free parameters θ to mixing coefficients α (and gradients back), per granularity and parameterisation.
import { UsageError } from "../../core/errors.js";

import type { Granularity, Parameterisation } from "../../protocol/choices.js";

export type { Granularity, Parameterisation };

/**
 * Coefficients live in flat arrays, ingredient-major: index i * groups.length + g, where a group is the whole
 * model ("model" granularity) or one layer ("layer" granularity).
 */
export interface CoefficientSpace {
  readonly ingredients: number;
  readonly groups: readonly string[];
  /** Group index of each variable. */
  readonly groupOf: readonly number[];
  readonly parameterisation: Parameterisation;
}

export function coefficientSpace(
  layerOf: readonly string[],
  ingredients: number,
  granularity: Granularity,
  parameterisation: Parameterisation,
): CoefficientSpace {
  if (granularity === "model") {
    return { ingredients, groups: ["*"], groupOf: layerOf.map(() => 0), parameterisation };
  }
  const groups: string[] = [];
  const index = new Map<string, number>();
  const groupOf = layerOf.map((layer) => {
    let g = index.get(layer);
    if (g === undefined) {
      g = groups.length;
      index.set(layer, g);
      groups.push(layer);
    }
    return g;
  });
  return { ingredients, groups, groupOf, parameterisation };
}

export function parameterCount(space: CoefficientSpace): number {
  return space.ingredients * space.groups.length;
}

/** α from θ. */
export function coefficientsOf(space: CoefficientSpace, theta: Float64Array): Float64Array {
  const n = space.ingredients;
  const G = space.groups.length;
  const alpha = new Float64Array(n * G);
  if (space.parameterisation === "free") {
    alpha.set(theta);
  } else if (space.parameterisation === "nonneg") {
    for (let k = 0; k < alpha.length; k++) alpha[k] = Math.max(0, theta[k]!);
  } else {
    for (let g = 0; g < G; g++) {
      let max = -Infinity;
      for (let i = 0; i < n; i++) max = Math.max(max, theta[i * G + g]!);
      let sum = 0;
      for (let i = 0; i < n; i++) sum += alpha[i * G + g] = Math.exp(theta[i * G + g]! - max);
      for (let i = 0; i < n; i++) alpha[i * G + g]! /= sum;
    }
  }
  return alpha;
}

/** ∂L/∂θ from ∂L/∂α (the chain rule through the parameterisation). */
export function chainToTheta(space: CoefficientSpace, theta: Float64Array, gradAlpha: Float64Array): Float64Array {
  const n = space.ingredients;
  const G = space.groups.length;
  const out = new Float64Array(gradAlpha.length);
  if (space.parameterisation === "free") {
    out.set(gradAlpha);
  } else if (space.parameterisation === "nonneg") {
    // Projected-gradient convention: a coefficient at the bound keeps its gradient so it can leave zero.
    for (let k = 0; k < out.length; k++) out[k] = theta[k]! >= 0 ? gradAlpha[k]! : 0;
  } else {
    const alpha = coefficientsOf(space, theta);
    for (let g = 0; g < G; g++) {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += alpha[i * G + g]! * gradAlpha[i * G + g]!;
      for (let i = 0; i < n; i++) out[i * G + g] = alpha[i * G + g]! * (gradAlpha[i * G + g]! - mean);
    }
  }
  return out;
}

/** Keeps θ feasible after an optimiser update (only "nonneg" has a constraint). */
export function project(space: CoefficientSpace, theta: Float64Array): void {
  if (space.parameterisation !== "nonneg") return;
  for (let k = 0; k < theta.length; k++) if (theta[k]! < 0) theta[k] = 0;
}

/**
 * θ giving the requested starting coefficients per ingredient (the same for every group); default: the uniform
 * soup, α_i = 1/N. For "simplex" the start is normalised to sum to one.
 */
export function initialTheta(space: CoefficientSpace, init?: readonly number[]): Float64Array {
  const n = space.ingredients;
  const G = space.groups.length;
  const start = init ?? new Array<number>(n).fill(1 / n);
  if (start.length !== n) throw new UsageError(`${start.length} initial coefficients given for ${n} ingredients.`);
  if (space.parameterisation !== "free" && start.some((a) => !(a >= 0))) {
    throw new UsageError(
      `Initial coefficients must be non-negative for the "${space.parameterisation}" parameterisation.`,
    );
  }
  const theta = new Float64Array(n * G);
  if (space.parameterisation === "simplex") {
    const sum = start.reduce((a, b) => a + b, 0);
    if (!(sum > 0)) throw new UsageError("Initial coefficients for the simplex must have a positive sum.");
    // log(0) = -Infinity would freeze an ingredient for good; a tiny share keeps it learnable.
    for (let i = 0; i < n; i++)
      for (let g = 0; g < G; g++) theta[i * G + g] = Math.log(Math.max(start[i]! / sum, 1e-8));
  } else {
    for (let i = 0; i < n; i++) for (let g = 0; g < G; g++) theta[i * G + g] = start[i]!;
  }
  return theta;
}

/** α as one array per ingredient (model granularity: one value each; layer: one value per group). */
export function coefficientsByIngredient(space: CoefficientSpace, alpha: Float64Array): number[][] {
  const G = space.groups.length;
  return Array.from({ length: space.ingredients }, (_, i) => Array.from(alpha.subarray(i * G, (i + 1) * G)));
}
