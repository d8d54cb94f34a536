import { UsageError } from "../errors.js";
import { check } from "../../protocol/schema.js";
import { paramValueSchema, type ByLayer, type FilterRule, type ParamValue, type ScalarOrGradient } from "./spec.js";

/** What a parameter value may depend on: the tensor's name, its layer, and its depth in the layer stack. */
export interface TensorContext {
  name: string;
  layer: string;
  /**
   * Depth of the tensor's layer in [0, 1] (first layer 0, last 1), for gradients. mergekit counts only the
   * repeated blocks of a transformer (embeddings at 0, head at 1); Model Soup counts every layer holding weights.
   */
  position?: number;
}

export function isFilterRules(value: ParamValue): value is FilterRule[] {
  return Array.isArray(value) && value.length > 0 && value.every((e) => typeof e === "object" && e !== null);
}

export function isByLayer(value: ParamValue): value is ByLayer {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** mergekit's gradient: the list's values spread evenly over [0, 1], linearly interpolated at `position`. */
export function interpolateGradient(values: readonly number[], position: number): number {
  const scaled = position * (values.length - 1);
  const i0 = Math.trunc(scaled);
  const i1 = Math.min(values.length - 1, i0 + 1);
  const frac = scaled - i0;
  return (1 - frac) * values[i0]! + frac * values[i1]!;
}

function resolveScalarOrGradient(value: ScalarOrGradient, ctx: TensorContext): number | boolean {
  if (!Array.isArray(value)) return value;
  if (value.length === 1) return value[0]!;
  if (ctx.position === undefined) {
    throw new UsageError(
      `${ctx.name}: a gradient parameter needs the depth of the tensor's layer, which was not given`,
    );
  }
  return interpolateGradient(value, ctx.position);
}

/** The value a parameter takes for one tensor; `undefined` when no rule covers the tensor. */
export function resolveParam(value: ParamValue, ctx: TensorContext): number | boolean | undefined {
  if (isByLayer(value)) {
    if (Object.hasOwn(value.byLayer, ctx.layer)) return value.byLayer[ctx.layer];
    return value.default === undefined ? undefined : resolveParam(value.default, ctx);
  }
  if (isFilterRules(value)) {
    for (const rule of value) {
      if (rule.filter === undefined || rule.filter === "*" || ctx.name.includes(rule.filter)) {
        return resolveScalarOrGradient(rule.value, ctx);
      }
    }
    return undefined;
  }
  return resolveScalarOrGradient(value, ctx);
}

/** Throws a UsageError naming `where` when `value` is not a well-formed ParamValue. */
export function checkParamValue(value: unknown, where: string): asserts value is ParamValue {
  const checked = check(paramValueSchema, value, "the value");
  if (!checked.ok) throw new UsageError(`${where}: ${checked.problem}`);
}

/**
 * Depth of each layer in [0, 1] by order of first appearance (the manifest's topological order), as
 * mergekit spreads a gradient over a model's layers. A single layer sits at 1, as in mergekit.
 */
export function layerPositions(layers: Iterable<string>): Map<string, number> {
  const order: string[] = [];
  const seen = new Set<string>();
  for (const layer of layers) {
    if (!seen.has(layer)) {
      seen.add(layer);
      order.push(layer);
    }
  }
  const positions = new Map<string, number>();
  order.forEach((layer, i) => positions.set(layer, order.length > 1 ? i / (order.length - 1) : 1));
  return positions;
}
