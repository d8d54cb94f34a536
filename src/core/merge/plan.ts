import { ModelFileError, UsageError } from "../errors.js";
import { elementCount, formatShape, isFloat, type TensorArray, type TensorInfo } from "../tensor.js";
import type { MergeMethod, ParamDef, TensorStatistics } from "./method.js";
import { checkParamValue, resolveParam, type TensorContext } from "./params.js";
import { getMergeMethod } from "./registry.js";
import type { WeightedSumTerms } from "./weighted-sum-kernel.js";
import type { MergeSpec, ParamValue } from "./spec.js";

/** One output tensor's inputs: each ingredient's values (aligned with `spec.ingredients`) and the base's. */
export interface TensorInputs {
  info: TensorInfo;
  /** Depth of the tensor's layer in [0, 1] (see `layerPositions`); needed only by gradient parameters. */
  position?: number;
  /** Float tensors as Float32Array (read with `float32: true`); other dtypes as read. */
  ingredients: readonly TensorArray[];
  /** The base's values; may be omitted when the base is one of the ingredients. */
  base?: TensorArray;
  /**
   * For the methods that need data: this tensor's statistics, one entry per ingredient (aligned with
   * `spec.ingredients`); `{}` for a tensor that has none. Absent: the merge was given no statistics.
   */
  statistics?: TensorStatistics;
  /** Receives what the method wants the user to know (a ridge added, ...). */
  warn?: (message: string) => void;
  /** A buffer for the float result that the method may fill and return instead of allocating (see MethodInput). */
  output?: Float32Array;
}

/**
 * Data statistics of a whole merge (RegMean Gram matrices, Fisher diagonals), by tensor name (the template's
 * names), each entry aligned with `spec.ingredients`. Tensors not listed are plainly averaged.
 */
export type MergeStatistics = ReadonlyMap<string, TensorStatistics>;

/** A validated merge: the method, and which ingredients are the base and which are merged. */
export interface PreparedMerge {
  spec: MergeSpec;
  method: MergeMethod;
  /** Index in `spec.ingredients` of the base when the base is listed among them. */
  baseIndex?: number;
  /** Indices in `spec.ingredients` of the models the method combines (every ingredient but the base). */
  modelIndices: number[];
  /**
   * The merged values of one tensor. Float tensors are merged in float32. Tensors of other dtypes (integer
   * step counters, boolean masks) are never averaged: the base's values are kept, or the first ingredient's
   * when there is no base.
   */
  mergeTensor(inputs: TensorInputs): TensorArray;
  /**
   * When the method merges this float tensor as a plain weighted sum of every ingredient (linear, uniform): its
   * terms, aligned with `spec.ingredients`, for a kernel that computes that sum itself; undefined otherwise.
   */
  weightedSumTerms(info: TensorInfo, position?: number): WeightedSumTerms | undefined;
}

/**
 * Whose values a tensor that is never averaged (an integer step counter such as PyTorch's num_batches_tracked, a
 * boolean mask) keeps: the base's when the merge has one, else the first ingredient's. The one rule of the in-memory
 * merge (mergeTensor) and the streamed one (soup/merge-files.ts).
 */
export function keptFrom(prepared: Pick<PreparedMerge, "spec" | "baseIndex">): "base" | number {
  if (prepared.baseIndex !== undefined) return prepared.baseIndex;
  return prepared.spec.base !== undefined ? "base" : 0;
}

function allowedModelParams(method: MergeMethod): Set<string> {
  return new Set(method.modelParams.map((p) => p.name).filter((n) => n !== "weight"));
}

/** Validates `spec` against its method (base, number of models, parameter names and forms). */
export function prepareMerge(spec: MergeSpec): PreparedMerge {
  const method = getMergeMethod(spec.method);
  if (spec.ingredients.length === 0) throw new UsageError(`${method.id}: no ingredients to merge`);
  if (method.base === "none" && spec.base !== undefined) {
    throw new UsageError(`${method.id} takes no base model (got ${spec.base}); list it as an ingredient instead`);
  }
  if (method.base === "required" && spec.base === undefined) {
    throw new UsageError(`${method.id} needs a base model: the model the ingredients were fine-tuned from`);
  }
  const baseIndex = spec.base === undefined ? undefined : spec.ingredients.findIndex((g) => g.path === spec.base);
  const modelIndices = spec.ingredients.map((_, i) => i).filter((i) => i !== baseIndex);
  const count = modelIndices.length;
  if (count < method.minModels || count > method.maxModels) {
    const wanted =
      method.minModels === method.maxModels ? `exactly ${method.minModels}` : `at least ${method.minModels}`;
    throw new UsageError(`${method.id} merges ${wanted} model(s) besides the base; got ${count}`);
  }

  const globalNames = new Set(method.globalParams.map((p) => p.name));
  const modelNames = new Set(method.modelParams.map((p) => p.name));
  for (const [name, value] of Object.entries(spec.params)) {
    if (!globalNames.has(name) && !modelNames.has(name)) {
      const known = [...globalNames, ...modelNames];
      throw new UsageError(
        `${method.id} has no parameter "${name}"${known.length ? `; its parameters: ${known.join(", ")}` : ""}`,
      );
    }
    checkParamValue(value, `parameter "${name}"`);
  }
  const perModel = allowedModelParams(method);
  spec.ingredients.forEach((g, i) => {
    const isBase = i === baseIndex;
    if (!modelNames.has("weight") && (g.weight !== undefined || g.weightsByLayer !== undefined) && !isBase) {
      throw new UsageError(`${method.id} takes no per-model weights (ingredient ${g.path})`);
    }
    if (g.weight !== undefined) checkParamValue(g.weight, `${g.path}: weight`);
    if (g.weightsByLayer !== undefined) checkParamValue({ byLayer: g.weightsByLayer }, `${g.path}: weightsByLayer`);
    for (const [name, value] of Object.entries(g.params ?? {})) {
      if (!perModel.has(name)) {
        const hint =
          name === "weight"
            ? "; give it as the ingredient's weight"
            : perModel.size
              ? `; per-model parameters: ${[...perModel].join(", ")}`
              : "";
        throw new UsageError(`${g.path}: ${method.id} has no per-model parameter "${name}"${hint}`);
      }
      checkParamValue(value, `${g.path}: parameter "${name}"`);
    }
  });

  const prepared: PreparedMerge = {
    spec,
    method,
    baseIndex: baseIndex !== undefined && baseIndex >= 0 ? baseIndex : undefined,
    modelIndices,
    mergeTensor: (inputs) => mergeOneTensor(prepared, inputs),
    weightedSumTerms: (info, position) => {
      if (method.weightedSum === undefined || !isFloat(info.dtype)) return undefined;
      if (modelIndices.length !== spec.ingredients.length) return undefined;
      const tensor = { name: info.name, layer: info.layer, shape: info.shape };
      return method.weightedSum({ tensor, ...resolveTensorParams(prepared, info, position) });
    },
  };
  return prepared;
}

function finalValue(def: ParamDef, raw: number | boolean | undefined, where: string): number | boolean {
  const value = raw ?? def.default;
  if (value === undefined)
    throw new UsageError(`${where}: missing required parameter "${def.name}" (${def.description})`);
  if (def.kind === "boolean") {
    if (typeof value !== "boolean")
      throw new UsageError(`${where}: parameter "${def.name}" must be true or false, got ${value}`);
    return value;
  }
  if (typeof value !== "number")
    throw new UsageError(`${where}: parameter "${def.name}" must be a number, got ${value}`);
  if (
    (def.min !== undefined && value < def.min) ||
    (def.max !== undefined && value > def.max) ||
    (def.above !== undefined && value <= def.above)
  ) {
    const lo = def.above !== undefined ? `> ${def.above}` : def.min !== undefined ? `>= ${def.min}` : "";
    const hi = def.max !== undefined ? `<= ${def.max}` : "";
    throw new UsageError(
      `${where}: parameter "${def.name}" must be ${[lo, hi].filter(Boolean).join(" and ")}, got ${value}`,
    );
  }
  return value;
}

function resolveOptional(value: ParamValue | undefined, ctx: TensorContext): number | boolean | undefined {
  return value === undefined ? undefined : resolveParam(value, ctx);
}

/** One tensor's global and per-model parameters (per-model aligned with `modelIndices`), resolved and checked. */
function resolveTensorParams(
  prepared: PreparedMerge,
  info: TensorInfo,
  position: number | undefined,
): { params: Record<string, number | boolean>; modelParams: Record<string, number>[] } {
  const { spec, method, modelIndices } = prepared;
  const ctx: TensorContext = { name: info.name, layer: info.layer, position };
  const params: Record<string, number | boolean> = {};
  for (const def of method.globalParams) {
    params[def.name] = finalValue(
      def,
      resolveOptional(spec.params[def.name], ctx),
      `${method.id}, tensor ${info.name}`,
    );
  }
  const modelParams = modelIndices.map((i) => {
    const g = spec.ingredients[i]!;
    const resolved: Record<string, number> = {};
    for (const def of method.modelParams) {
      let raw: number | boolean | undefined;
      if (def.name === "weight") {
        raw =
          g.weightsByLayer !== undefined && Object.hasOwn(g.weightsByLayer, info.layer)
            ? g.weightsByLayer[info.layer]
            : resolveOptional(g.weight, ctx);
      } else {
        raw = resolveOptional(g.params?.[def.name], ctx);
      }
      raw ??= resolveOptional(spec.params[def.name], ctx);
      resolved[def.name] = finalValue(def, raw, `${g.path}, tensor ${info.name}`) as number;
    }
    return resolved;
  });
  return { params, modelParams };
}

function mergeOneTensor(prepared: PreparedMerge, inputs: TensorInputs): TensorArray {
  const { spec, method, baseIndex, modelIndices } = prepared;
  const { info } = inputs;
  if (inputs.ingredients.length !== spec.ingredients.length) {
    throw new UsageError(
      `${info.name}: got values of ${inputs.ingredients.length} ingredient(s), the merge has ${spec.ingredients.length}`,
    );
  }
  const expected = elementCount(info.shape);
  const check = (data: TensorArray, file: string): void => {
    if (data.length !== expected) {
      throw new ModelFileError(
        file,
        `tensor "${info.name}" with ${expected} values (shape ${formatShape(info.shape)}), found ${data.length}`,
      );
    }
  };
  inputs.ingredients.forEach((data, i) => check(data, spec.ingredients[i]!.path));
  const base = inputs.base ?? (baseIndex !== undefined ? inputs.ingredients[baseIndex] : undefined);
  if (method.base === "required" && base === undefined)
    throw new UsageError(`${info.name}: the base model's values were not given`);
  if (inputs.base !== undefined) check(inputs.base, spec.base ?? "base model");

  if (!isFloat(info.dtype)) {
    const from = keptFrom(prepared);
    return from === "base" ? base! : inputs.ingredients[from]!;
  }

  const asFloat32 = (data: TensorArray, file: string): Float32Array => {
    if (!(data instanceof Float32Array)) {
      throw new UsageError(
        `${file}: tensor "${info.name}" (${info.dtype}) must be given as float32 values to be merged`,
      );
    }
    return data;
  };
  if (method.data === "required" && inputs.statistics === undefined) {
    throw new UsageError(`${method.id} needs statistics of the models on data: give a data file (--data)`);
  }
  const pick = <T>(values: readonly T[] | undefined): T[] | undefined =>
    values === undefined ? undefined : modelIndices.map((i) => values[i]!);
  const { params, modelParams } = resolveTensorParams(prepared, info, inputs.position);
  return method.merge({
    tensor: { name: info.name, layer: info.layer, shape: info.shape },
    models: modelIndices.map((i) => asFloat32(inputs.ingredients[i]!, spec.ingredients[i]!.path)),
    base: method.base === "required" ? asFloat32(base!, spec.base ?? "base model") : undefined,
    params,
    modelParams,
    ...(inputs.statistics !== undefined
      ? {
          statistics: {
            ...(inputs.statistics.gram ? { gram: pick(inputs.statistics.gram) } : {}),
            ...(inputs.statistics.fisher ? { fisher: pick(inputs.statistics.fisher) } : {}),
            ...(inputs.statistics.kernelLayout ? { kernelLayout: inputs.statistics.kernelLayout } : {}),
          },
        }
      : {}),
    ...(inputs.warn ? { warn: inputs.warn } : {}),
    ...(inputs.output !== undefined && inputs.output.length === expected ? { output: inputs.output } : {}),
  });
}
