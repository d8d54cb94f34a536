/**
 * The description of a merge: which method, its parameters, the ingredients with their weights, the base.
 * It is what a recipe file records, what `model-soup apply` re-runs, and what a mergekit YAML maps to.
 */
import * as v from "valibot";

/**
 * The merge methods Model Soup implements (ids as mergekit names them, plus `uniform`, the data-aware `regmean`,
 * `fisher` and `regmean_plusplus`, and the SVD-based `tsv_m`, `iso_c`, `iso_cts` and `wudi`, which mergekit lacks).
 */
export const MERGE_METHOD_IDS = [
  "linear",
  "uniform",
  "task_arithmetic",
  "ties",
  "dare_linear",
  "dare_ties",
  "slerp",
  "model_stock",
  "regmean",
  "fisher",
  "tsv_m",
  "iso_c",
  "iso_cts",
  "wudi",
  "regmean_plusplus",
] as const;

export type MergeMethodId = (typeof MERGE_METHOD_IDS)[number];

const FINITE = "must be a finite number";
const finite = v.pipe(v.number(FINITE), v.finite(FINITE));
const isObject = (x: unknown) => typeof x === "object" && x !== null;

/** A number or boolean for every tensor, or a gradient: numbers interpolated along the layer stack. */
const scalarOrGradientSchema = v.lazy((x) =>
  typeof x === "number"
    ? finite
    : Array.isArray(x)
      ? v.pipe(v.array(finite), v.minLength(1, "must list at least one value (a gradient)"))
      : v.boolean("must be a number, a boolean or a list of numbers (a gradient)"),
) as v.GenericSchema<number | boolean | number[]>;
export type ScalarOrGradient = v.InferOutput<typeof scalarOrGradientSchema>;

/**
 * A mergekit conditional rule: applies to tensors whose name contains `filter` (every tensor when absent).
 * In a list of rules the first that applies wins, as in mergekit.
 */
const filterRuleSchema = v.object(
  { filter: v.optional(v.string("must be a string")), value: scalarOrGradientSchema },
  "must be a rule {filter?, value}",
);
export type FilterRule = v.InferOutput<typeof filterRuleSchema>;

const isRuleList = (x: unknown) => Array.isArray(x) && x.length > 0 && x.every(isObject);
const rulesSchema = v.array(filterRuleSchema);

/** Values by exact layer name (a layer-granular learned merge); tensors of other layers take `default`. */
const byLayerSchema = v.object({
  byLayer: v.record(v.string(), finite, "must map layer names to numbers"),
  default: v.optional(v.lazy((x) => (isRuleList(x) ? rulesSchema : scalarOrGradientSchema))),
});
export type ByLayer = v.InferOutput<typeof byLayerSchema>;

/** A parameter value: the same for every tensor, or a function of the tensor (its layer, name, depth). */
export const paramValueSchema = v.lazy((x) =>
  isRuleList(x) ? rulesSchema : isObject(x) && !Array.isArray(x) ? byLayerSchema : scalarOrGradientSchema,
) as v.GenericSchema<ScalarOrGradient | FilterRule[] | ByLayer>;
export type ParamValue = v.InferOutput<typeof paramValueSchema>;

export interface MergeIngredient {
  /** The model file as the user gave it (or, after a mergekit import, mergekit's model reference). */
  path: string;
  /** The ingredient's weight (coefficient, λ). Layers listed in `weightsByLayer` take theirs instead. */
  weight?: ParamValue;
  /** Weights by exact layer name, from a layer-granular learned merge. */
  weightsByLayer?: Record<string, number>;
  /** The method's other per-ingredient parameters (`density` for TIES and DARE). */
  params?: Record<string, ParamValue>;
}

export interface MergeSpec {
  method: MergeMethodId;
  /** The method's global parameters (`t`, `normalize`, `lambda`, `seed`, ...); per-ingredient ones set here apply to every ingredient that does not set its own. */
  params: Record<string, ParamValue>;
  ingredients: MergeIngredient[];
  /** The base model, when the method needs one. It may also appear among the ingredients, as in mergekit. */
  base?: string;
  /** The dtype of the written tensors when it should differ from the inputs' (`float32`, `float16`, `bfloat16`). */
  outDtype?: string;
}
