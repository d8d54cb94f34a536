/**
 * The description of a merge: which method, its parameters, the ingredients with their weights, the base.
 * It is what a recipe file records, what `model-soup apply` re-runs, and what a mergekit YAML maps to.
 */

/** The merge methods Model Soup implements (ids as mergekit names them, plus `uniform`, and the data-aware `regmean` and `fisher`, which mergekit lacks). */
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
] as const;

export type MergeMethodId = (typeof MERGE_METHOD_IDS)[number];

/** A number or boolean for every tensor, or a gradient: numbers interpolated along the layer stack. */
export type ScalarOrGradient = number | boolean | number[];

/**
 * A mergekit conditional rule: applies to tensors whose name contains `filter` (every tensor when absent).
 * In a list of rules the first that applies wins, as in mergekit.
 */
export interface FilterRule {
  filter?: string;
  value: ScalarOrGradient;
}

/** Values by exact layer name (a layer-granular learned merge); tensors of other layers take `default`. */
export interface ByLayer {
  byLayer: Record<string, number>;
  default?: ScalarOrGradient | FilterRule[];
}

/** A parameter value: the same for every tensor, or a function of the tensor (its layer, name, depth). */
export type ParamValue = ScalarOrGradient | FilterRule[] | ByLayer;

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
