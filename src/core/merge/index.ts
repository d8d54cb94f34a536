export type { MergeMethod, MethodInput, ParamDef, TensorStatistics } from "./method.js";
export type {
  ByLayer,
  FilterRule,
  MergeIngredient,
  MergeMethodId,
  MergeSpec,
  ParamValue,
  ScalarOrGradient,
} from "./spec.js";
export { MERGE_METHOD_IDS } from "./spec.js";
export { getMergeMethod, isMergeMethodId, listMergeMethods } from "./registry.js";
export { prepareMerge, type MergeStatistics, type PreparedMerge, type TensorInputs } from "./plan.js";
export { layerPositions, resolveParam, type TensorContext } from "./params.js";
export { specFromCoefficients, type CoefficientMerge } from "./coefficients.js";
