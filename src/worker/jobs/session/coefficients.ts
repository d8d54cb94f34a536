/** The protocol's coefficient form and the evaluation's Mix, each from the other. */
import { UsageError } from "../../../core/errors.js";
import type { Coefficients } from "../../../protocol/worker.js";
import type { Mix } from "../../evaluate/soup.js";

/** The protocol's coefficient form: one number per ingredient, or per layer name one number per ingredient. */
export function toCoefficients(coefficients: readonly (readonly number[])[], groups: readonly string[]): Coefficients {
  if (groups.length === 1 && groups[0] === "*") return coefficients.map((c) => c[0]!);
  return Object.fromEntries(groups.map((g, k) => [g, coefficients.map((c) => c[k]!)]));
}

/** The protocol's coefficients as a Mix: one per ingredient, or per layer name one per ingredient. */
export function mixOf(coefficients: Coefficients, ingredients: number): Mix {
  const columns = Array.isArray(coefficients) ? [coefficients] : Object.values(coefficients);
  if (!columns.every((c) => Array.isArray(c) && c.every(Number.isFinite)))
    throw new UsageError("coefficients must be finite numbers");
  if (Array.isArray(coefficients)) {
    if (coefficients.length !== ingredients)
      throw new UsageError(`${coefficients.length} coefficient(s) given for ${ingredients} model(s)`);
    return { coefficients: coefficients.map((c) => [c]) };
  }
  const groups = Object.keys(coefficients);
  for (const g of groups) {
    if (coefficients[g]!.length !== ingredients)
      throw new UsageError(`layer "${g}" has ${coefficients[g]!.length} coefficient(s) for ${ingredients} model(s)`);
  }
  return {
    coefficients: Array.from({ length: ingredients }, (_, i) => groups.map((g) => coefficients[g]![i]!)),
    groups,
  };
}
