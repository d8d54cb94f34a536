import { UsageError } from "../errors.js";
import type { MergeMethodId, MergeSpec, ParamValue } from "./spec.js";

export interface CoefficientMerge {
  method: MergeMethodId;
  /** The ingredients' paths, in the order of the coefficients. */
  paths: readonly string[];
  /** One coefficient per ingredient, or (layer granularity) for each layer name one coefficient per ingredient. */
  coefficients: readonly number[] | Readonly<Record<string, readonly number[]>>;
  base?: string;
  params?: Record<string, ParamValue>;
}

/** The MergeSpec of a merge with learned (or given) coefficients, per model or per layer. */
export function specFromCoefficients(merge: CoefficientMerge): MergeSpec {
  const { paths, coefficients } = merge;
  const ingredients = paths.map((path, i) => {
    if (Array.isArray(coefficients)) return { path, weight: coefficients[i] as number };
    const byLayer: Record<string, number> = {};
    for (const [layer, values] of Object.entries(coefficients as Record<string, readonly number[]>)) {
      if (values.length !== paths.length) {
        throw new UsageError(`Layer "${layer}" has ${values.length} coefficient(s) for ${paths.length} ingredient(s)`);
      }
      byLayer[layer] = values[i]!;
    }
    return { path, weightsByLayer: byLayer };
  });
  if (Array.isArray(coefficients) && coefficients.length !== paths.length) {
    throw new UsageError(`${coefficients.length} coefficient(s) for ${paths.length} ingredient(s)`);
  }
  const spec: MergeSpec = { method: merge.method, params: { ...(merge.params ?? {}) }, ingredients };
  if (merge.base !== undefined) spec.base = merge.base;
  return spec;
}
