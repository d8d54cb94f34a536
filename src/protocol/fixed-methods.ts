/**
 * The parameters of the fixed merges as the Merge panel offers them: for each method its meaning in one line and
 * the numbers it takes, with the defaults of the method's own definition (src/core/merge/methods/; a test checks
 * they agree) under the names `model-soup merge` and recipes use.
 */
import type { FixedMethod } from "./choices.js";
import type { NumberRange } from "./panel.js";

export interface FixedParam extends NumberRange {
  /** The parameter's name in recipes and on the command line (--lambda, --density, --t, --rank-fraction, ...). */
  readonly name: string;
  readonly label: string;
  /** What it does, in one line. */
  readonly meaning: string;
  readonly default: number;
}

export interface FixedMethodInfo {
  /** What the method does, in one line. */
  readonly meaning: string;
  readonly params: readonly FixedParam[];
}

const LAMBDA: FixedParam = {
  name: "lambda",
  label: "λ (scale)",
  meaning: "Scale of the merged task vector added to the base: 0 gives the base, 1 the full merge.",
  default: 1,
  min: -10,
  max: 10,
};
const DENSITY: FixedParam = {
  name: "density",
  label: "Density",
  meaning: "Fraction of each task vector's entries kept (the largest for TIES, at random for DARE).",
  default: 1,
  min: 0.001,
  max: 1,
};

export const FIXED_METHODS: Readonly<Record<FixedMethod, FixedMethodInfo>> = {
  uniform: { meaning: "Every included model's weights averaged with equal weight.", params: [] },
  manual: {
    meaning: "The models' weights averaged with the weights in the Ingredients table (divided by their sum).",
    params: [],
  },
  task_arithmetic: {
    meaning: "Adds the sum of the task vectors (each model minus the base, times 0.4) to the base, scaled by λ.",
    params: [LAMBDA],
  },
  ties: {
    meaning:
      "Trims each task vector to its largest entries, elects one sign per entry, averages the entries that agree.",
    params: [DENSITY, LAMBDA],
  },
  dare_linear: {
    meaning:
      "Drops task-vector entries at random (keeping the density), rescales the rest, then adds them as task arithmetic.",
    params: [
      DENSITY,
      LAMBDA,
      {
        name: "seed",
        label: "Seed",
        meaning: "Seed of the random drops.",
        default: 0,
        min: 0,
        max: 2 ** 32,
        integer: true,
      },
    ],
  },
  dare_ties: {
    meaning: "Drops task-vector entries at random, rescales the rest, then merges them as TIES does.",
    params: [
      DENSITY,
      LAMBDA,
      {
        name: "seed",
        label: "Seed",
        meaning: "Seed of the random drops.",
        default: 0,
        min: 0,
        max: 2 ** 32,
        integer: true,
      },
    ],
  },
  slerp: {
    meaning: "Interpolates the base and one other model along the sphere of their weights.",
    params: [
      {
        name: "t",
        label: "t",
        meaning: "Interpolation factor: 0 gives the base, 1 the other model.",
        default: 0.5,
        min: 0,
        max: 1,
      },
    ],
  },
  model_stock: {
    meaning: "Averages the fine-tunes, then pulls the average toward the base by the angle between them.",
    params: [],
  },
  tsv_m: {
    meaning: "Keeps each task matrix's top singular directions, decorrelates them across tasks, adds them to the base.",
    params: [
      {
        name: "rank_fraction",
        label: "Rank fraction",
        meaning: "Fraction of each task matrix's singular triplets kept (0: one over the number of models).",
        default: 0,
        min: 0,
        max: 1,
      },
      LAMBDA,
    ],
  },
  iso_c: {
    meaning: "Flattens the spectrum of the summed task matrix (isotropic), then adds it to the base.",
    params: [LAMBDA],
  },
  iso_cts: {
    meaning: "Iso-C on a common subspace plus each task's own directions, then adds it to the base.",
    params: [
      {
        name: "common_space",
        label: "Common space",
        meaning: "Fraction of each weight's singular directions shared by all tasks.",
        default: 0.8,
        min: 0,
        max: 1,
      },
      LAMBDA,
    ],
  },
  wudi: {
    meaning: "Solves for the merged task vector that least interferes with each task, without data (Adam per matrix).",
    params: [
      {
        name: "steps",
        label: "Steps",
        meaning: "Adam steps per weight matrix.",
        default: 300,
        min: 1,
        max: 100000,
        integer: true,
      },
      {
        name: "lr",
        label: "Learning rate",
        meaning: "Adam's learning rate; 0 (the default) steps by 1 % of the task vectors' size, whatever their scale.",
        default: 0,
        min: 0,
        max: 1,
      },
    ],
  },
};

/** The value of a method's parameter in a configuration: the one set, else the default. */
export function paramValue(
  method: FixedMethod,
  params: Readonly<Record<string, number>> | undefined,
  name: string,
): number {
  const def = FIXED_METHODS[method].params.find((p) => p.name === name);
  return params?.[name] ?? def?.default ?? NaN;
}

/**
 * What the coefficient sweep varies: λ for the task-vector methods, t for SLERP, and for the weighted average the
 * weight of one ingredient (the others keep their proportions and share the rest).
 */
export function sweepParam(method: FixedMethod): { name: string; label: string; values: number[] } | undefined {
  if (method === "manual")
    return { name: "weight", label: "Weight of the swept ingredient", values: [0, 0.25, 0.5, 0.75, 1] };
  if (method === "slerp") return { name: "t", label: "t", values: [0, 0.25, 0.5, 0.75, 1] };
  if (FIXED_METHODS[method].params.some((p) => p.name === "lambda"))
    return { name: "lambda", label: "λ", values: [0.25, 0.5, 0.75, 1, 1.25] };
  return undefined;
}

/**
 * The weighted average's coefficients with ingredient `index` at `weight` and the others sharing 1 − weight in the
 * proportions of their own weights (equally when those sum to zero).
 */
export function sweptWeights(weights: readonly number[], index: number, weight: number): number[] {
  const others = weights.reduce((s, w, i) => (i === index ? s : s + w), 0);
  const count = weights.length - 1;
  return weights.map((w, i) =>
    i === index ? weight : count === 0 ? 0 : (1 - weight) * (others !== 0 ? w / others : 1 / count),
  );
}
