/** What `align` and `merge --align` write on either engine: the merge's spec, and every model with its units permuted. */
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { Cancellation } from "../../core/cancellation.js";
import { specFromCoefficients } from "../../core/merge/coefficients.js";
import type { MergeSpec } from "../../core/merge/spec.js";
import { saveSoup, type SaveSoupOptions } from "../../core/soup/save.js";
import type { AlignParams, AlignResult } from "../../protocol/worker.js";
import { alignedOutputs } from "./output-names.js";

/**
 * The merge of the aligned models: uniform, or the given weights; `perModel` when they are one per model (per-layer
 * weights, the editor's save of a layer-granularity learned soup, are merged without REPAIR).
 */
export function alignedMergeSpec(
  models: readonly string[],
  coefficients: NonNullable<AlignParams["merge"]>["coefficients"],
): { spec: MergeSpec; perModel: boolean } {
  const spec: MergeSpec =
    coefficients === undefined
      ? { method: "uniform", params: {}, ingredients: models.map((path) => ({ path })) }
      : specFromCoefficients({ method: "linear", paths: [...models], coefficients, params: {} });
  return { spec, perModel: coefficients === undefined || Array.isArray(coefficients) };
}

/** What an aligned file's recipe records besides its spec: the data, the backend, the permutations, REPAIR's. */
export type AlignedRecord = Omit<SaveSoupOptions, "spec" | "target" | "origin" | "cancel">;

/** The merge of the aligned models written to `out` with its recipe (origin uniform, or manual for given weights). */
export async function saveAlignedMerge(
  spec: MergeSpec,
  coefficients: NonNullable<AlignParams["merge"]>["coefficients"],
  out: string,
  record: AlignedRecord,
  cancel: Cancellation | undefined,
): Promise<Pick<AlignResult, "outputs" | "warnings">> {
  const saved = await saveSoup({
    spec,
    target: out,
    origin: coefficients === undefined ? "uniform" : "manual",
    ...record,
    cancel,
  });
  return { outputs: [{ model: saved.model, recipe: saved.recipe }], warnings: saved.warnings };
}

/**
 * Every model written with its units permuted into `out`, each with its recipe, never over an input (the aligned
 * models go beside nothing they are read from); `recordOf(i, model)` gives model i's recipe fields.
 */
export async function saveAlignedModels(
  models: readonly string[],
  out: string,
  recordOf: (i: number, model: string) => AlignedRecord | Promise<AlignedRecord>,
  cancel: Cancellation | undefined,
): Promise<Pick<AlignResult, "outputs" | "warnings">> {
  const outputs: AlignResult["outputs"] = [];
  const warnings: string[] = [];
  const targets = await alignedOutputs(models, out);
  for (const [i, model] of models.entries()) {
    await mkdir(dirname(targets[i]!), { recursive: true });
    const saved = await saveSoup({
      spec: { method: "linear", params: { normalize: false }, ingredients: [{ path: model, weight: 1 }] },
      target: targets[i]!,
      origin: "aligned",
      ...(await recordOf(i, model)),
      cancel,
    });
    outputs.push({ model: saved.model, recipe: saved.recipe });
    warnings.push(...saved.warnings);
  }
  return { outputs, warnings };
}
