/**
 * Two files of one architecture side by side, tensor by tensor: the Compare Models view and `model-soup diff`.
 * Tensors are read one pair at a time (memory stays near two tensors, whatever the models' size) and matched
 * as the merges match them (src/core/architecture/compatibility.ts): by name, or by structure when both files
 * record an architecture and only the names differ.
 */
import { compareManifests } from "../architecture/compatibility.js";
import { kerasVariableNames } from "../keras/variable-names.js";
import { shortLabels } from "../architecture/labels.js";
import { throwIfCancelled, type Cancellation } from "../cancellation.js";
import { ModelFileError, UsageError } from "../errors.js";
import { openModel } from "../formats/registry.js";
import type { ModelFile, ModelManifest } from "../model.js";
import { finiteMoments, histogramOf } from "../report/tensor-distribution.js";
import type { CompareFilesParams, ModelComparison, TensorComparison } from "../../protocol/worker.js";
import { resolveModelPath } from "../io/model-inputs.js";
import type { JobContext } from "../job-context.js";
import { tensorValues } from "./layer-stats.js";
import { addSums, EMPTY_SUMS, fromSums, tensorDifference, type TensorDifference } from "./tensor-difference.js";

export const DEFAULT_COMPARE_BINS = 24;

export interface CompareFilesOptions {
  bins?: number;
  /** Asked before each tensor; a requested stop throws a CancelledError. */
  cancel?: Cancellation;
  /** Called after each tensor (for progress). */
  onTensor?: (done: number, total: number) => void;
}

/** How the tensors of `a` pair with those of `b`; refuses, naming both files, when they are not of one architecture. */
export function matchTensors(
  a: ModelManifest,
  b: ModelManifest,
): { matchedBy: ModelComparison["matchedBy"]; mapping: Map<string, string> } {
  const [labelA, labelB] = shortLabels([a.path, b.path]);
  const comparison = compareManifests(a, b, { a: labelA!, b: labelB! });
  switch (comparison.status) {
    case "compatible":
      return { matchedBy: "name", mapping: new Map(a.tensors.map((t) => [t.name, t.name])) };
    case "compatible-by-structure":
      return { matchedBy: "structure", mapping: new Map(comparison.mapping.map((p) => [p.from, p.to])) };
    case "incompatible":
      throw new UsageError(`${a.path} and ${b.path} are not of one architecture: ${comparison.reason}`);
  }
}

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

function figures(d: Pick<TensorDifference, "relativeDifference" | "cosine" | "maxAbsDifference">) {
  return {
    relativeDifference: finiteOrNull(d.relativeDifference),
    cosine: finiteOrNull(d.cosine),
    maxAbsDifference: finiteOrNull(d.maxAbsDifference),
  };
}

/** One tensor pair: the difference figures and both distributions over shared histogram bins. */
export function compareTensorValues(
  a: Float32Array,
  b: Float32Array,
  bins = DEFAULT_COMPARE_BINS,
): Omit<TensorComparison, "name" | "nameB" | "shape" | "dtype"> & { difference: TensorDifference } {
  const difference = tensorDifference(a, b);
  const ma = finiteMoments(a);
  const mb = finiteMoments(b);
  const ranges = [ma, mb].filter((m) => m.count > 0);
  const min = ranges.length === 0 ? 0 : Math.min(...ranges.map((m) => m.min));
  const max = ranges.length === 0 ? 0 : Math.max(...ranges.map((m) => m.max));
  const histogram = (data: Float32Array, count: number) => (count === 0 ? [] : histogramOf(data, bins, min, max));
  return {
    ...figures(difference),
    a: { ...ma, histogram: histogram(a, ma.count) },
    b: { ...mb, histogram: histogram(b, mb.count) },
    histogramMin: min,
    histogramMax: max,
    difference,
  };
}

/** Compares `pathA` and `pathB` (model files) tensor by tensor, in a's order; a is the reference. */
export async function compareFiles(
  pathA: string,
  pathB: string,
  options: CompareFilesOptions = {},
): Promise<ModelComparison> {
  const started = performance.now();
  const bins = options.bins ?? DEFAULT_COMPARE_BINS;
  if (!Number.isInteger(bins) || bins < 1 || bins > 1000)
    throw new UsageError(`histogram bins must be a whole number from 1 to 1000, not ${bins}`);
  let a: ModelFile | undefined;
  let b: ModelFile | undefined;
  try {
    a = await openModel(pathA);
    b = await openModel(pathB);
    const { matchedBy, mapping } = matchTensors(a.manifest, b.manifest);
    const tensors: TensorComparison[] = [];
    let pooled = EMPTY_SUMS;
    let identical = 0;
    const total = a.manifest.tensors.length;
    const readable = kerasVariableNames(a.manifest.architecture?.layers ?? []);
    for (const info of a.manifest.tensors) {
      throwIfCancelled(options.cancel, "The comparison was cancelled");
      const nameB = mapping.get(info.name);
      if (nameB === undefined) throw new ModelFileError(pathB, `to have a tensor matching "${info.name}" of ${pathA}`);
      const valuesA = tensorValues(await a.readTensor(info.name, { float32: true }));
      const valuesB = tensorValues(await b.readTensor(nameB, { float32: true }));
      if (valuesA.length !== valuesB.length)
        throw new ModelFileError(
          pathB,
          `tensor "${nameB}" to have ${valuesA.length} values like "${info.name}" of ${pathA}, not ${valuesB.length}`,
        );
      const { difference, ...line } = compareTensorValues(valuesA, valuesB, bins);
      pooled = addSums(pooled, difference.sums);
      if (difference.sums.difference === 0 && difference.sums.maxAbs === 0) identical++;
      const label = readable.get(info.name);
      tensors.push({
        name: info.name,
        nameB,
        ...(label !== undefined && label !== info.name ? { label } : {}),
        shape: [...info.shape],
        dtype: info.dtype,
        ...line,
      });
      options.onTensor?.(tensors.length, total);
    }
    return {
      a: pathA,
      b: pathB,
      matchedBy,
      tensors,
      overall: figures(fromSums(pooled)),
      identical,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await a?.close();
    await b?.close();
  }
}

/** The request as a job (worker and CLI): model folders resolved to their model, progress per tensor. */
export async function compareFilesJob(params: CompareFilesParams, context: JobContext): Promise<ModelComparison> {
  const a = await resolveModelPath(params.a);
  const b = await resolveModelPath(params.b);
  return compareFiles(a, b, {
    ...(params.bins !== undefined ? { bins: params.bins } : {}),
    cancel: context.token,
    onTensor: (done, total) =>
      context.progress({
        ...(params.jobId ? { jobId: params.jobId } : {}),
        phase: "evaluating",
        step: done,
        totalSteps: total,
        unit: "tensors",
        message: "Comparing tensors",
      }),
  });
}
