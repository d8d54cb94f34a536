import type { MergeMethodId } from "./spec.js";
import type { WeightedSumTerms } from "./weighted-sum-kernel.js";

/** A parameter a method reads, with its default (none when required). */
export interface ParamDef {
  name: string;
  kind: "number" | "boolean";
  /** Absent: the parameter is required. */
  default?: number | boolean;
  /** Inclusive bounds a number must respect. */
  min?: number;
  max?: number;
  /** Exclusive lower bound (density > 0). */
  above?: number;
  description: string;
}

/**
 * Statistics of one tensor on data, one entry per model (aligned with `MethodInput.models`), for the methods that
 * need data (RegMean, Fisher). A tensor without them (a bias, a normalisation parameter) is plainly averaged.
 */
export interface TensorStatistics {
  /**
   * RegMean: the Gram matrix XᵀX (d×d, row-major, float64) of the inputs of the linear map whose kernel this
   * tensor is; d is the kernel's row count (its element count over its last dimension).
   */
  gram?: readonly Float64Array[];
  /**
   * How the kernel's dimensions stand against its Gram matrix: "outputs-last" (TF.js and Keras: Dense [in, out],
   * Conv2D [kh, kw, in, out]; the default) or "outputs-first" (PyTorch: Linear [out, in], ConvNd [out, in, k…],
   * whose Gram matrix is over the in·k… values of a row).
   */
  kernelLayout?: "outputs-last" | "outputs-first";
  /** Fisher: the diagonal empirical Fisher of every value of this tensor. */
  fisher?: readonly Float32Array[];
}

/** One tensor's inputs to a method, in float32, with the parameters already resolved for this tensor. */
export interface MethodInput {
  /** The tensor's name, layer and shape (shape matters for row-wise variants; the data is flat). */
  tensor: { name: string; layer: string; shape: readonly number[] };
  /** The ingredients' values, the base excluded. */
  models: readonly Float32Array[];
  /** The base's values, when the method uses a base. */
  base?: Float32Array;
  /** Global parameters, resolved for this tensor. */
  params: Readonly<Record<string, number | boolean>>;
  /** Per-model parameters (aligned with `models`), resolved for this tensor. */
  modelParams: readonly Readonly<Record<string, number>>[];
  /** Data statistics of this tensor (methods with `data: "required"`); `{}` when the tensor has none. */
  statistics?: TensorStatistics;
  /** Records something the user should know that did not stop the merge (e.g. a ridge added to a singular system). */
  warn?: (message: string) => void;
  /** A buffer of the tensor's length the method may write its result into (and return) instead of allocating. */
  output?: Float32Array;
}

/** What a method's weightedSum looks at: one tensor's resolved parameters, without the values. */
export type MethodTerms = Pick<MethodInput, "tensor" | "params" | "modelParams">;

export interface MergeMethod {
  readonly id: MergeMethodId;
  readonly label: string;
  /** The paper (or page) the method comes from. */
  readonly reference: string;
  /** Whether the method needs a base model (and then works on task vectors W_i − W_base). */
  readonly base: "required" | "none";
  /** How many models (base excluded) it accepts. */
  readonly minModels: number;
  readonly maxModels: number;
  /**
   * The widest statistic the method needs: "element" methods may be run on any slice of a tensor,
   * "tensor" methods need the whole tensor at once (top-k, norms, angles, a seeded stream per tensor).
   * No method here needs a statistic over the whole model.
   */
  readonly scope: "element" | "tensor";
  readonly globalParams: readonly ParamDef[];
  readonly modelParams: readonly ParamDef[];
  /** True when mergekit has the method under the same name and meaning (recipes of it export to mergekit). */
  readonly mergekit?: boolean;
  /** "required": the method needs statistics of the models on data (computed by the worker), per tensor. */
  readonly data?: "required";
  /**
   * For a method whose result for a tensor is exactly weightedSumInto(out, models, weights, scale): those terms,
   * so a streamed merge can compute it with its fused kernel. Undefined (or absent): `merge` is always called.
   */
  weightedSum?(input: MethodTerms): WeightedSumTerms | undefined;
  /** Returns the merged values (a new array; the inputs are not modified). */
  merge(input: MethodInput): Float32Array;
}
