// What every learning and evaluation routine works on: one executable model and the ingredients' weights.
import * as tf from "@tensorflow/tfjs";
import { UsageError } from "../../core/errors.js";
import type { LossSpec } from "./loss.js";

export interface SoupProblem {
  /** Executes the merged weights; its variables are overwritten by every merge. */
  readonly model: tf.LayersModel;
  /** The weights to merge (trainable and non-trainable, e.g. BatchNormalization moving statistics). */
  readonly variables: tf.LayerVariable[];
  /** Layer name of each variable (same order as `variables`). */
  readonly layerOf: string[];
  /** ingredients[i][v]: ingredient i's values for variable v. */
  readonly ingredients: Float32Array[][];
  /** Task-vector form: W = base + Σ λ_i (W_i − base). */
  readonly base?: Float32Array[];
  /** The loss the job chose (loss-choice.ts) that every task of it uses; absent: from the output and the labels. */
  readonly loss?: LossSpec;
}

/** Inputs (and, for the supervised objective and evaluation, targets) of one data split. */
export interface SoupData {
  readonly x: tf.Tensor;
  readonly y?: tf.Tensor;
}

/** Throws a UsageError naming the first mismatch between the problem's parts. */
export function checkProblem(problem: SoupProblem): void {
  const { variables, layerOf, ingredients, base } = problem;
  if (variables.length === 0) throw new UsageError("The soup has no variables to merge.");
  if (layerOf.length !== variables.length) {
    throw new UsageError(`layerOf has ${layerOf.length} entries for ${variables.length} variables.`);
  }
  if (ingredients.length < 1) throw new UsageError("A soup needs at least one ingredient.");
  const check = (values: Float32Array[], what: string) => {
    if (values.length !== variables.length) {
      throw new UsageError(`${what} has ${values.length} tensors, the model has ${variables.length} variables.`);
    }
    values.forEach((v, k) => {
      const size = variableSize(variables[k]!);
      if (v.length !== size) {
        throw new UsageError(`${what}, variable ${variables[k]!.name}: ${v.length} values, expected ${size}.`);
      }
    });
  };
  ingredients.forEach((ing, i) => check(ing, `ingredient ${i}`));
  if (base !== undefined) check(base, "base");
}

export function dataSize(data: SoupData): number {
  return data.x.shape[0] ?? 0;
}

/** The tf.Variable behind a layer weight (its shape is concrete, unlike LayerVariable.shape). */
export function tensorOf(v: tf.LayerVariable): tf.Variable {
  return v.read() as tf.Variable;
}

export function variableSize(v: tf.LayerVariable): number {
  return tensorOf(v).size;
}
