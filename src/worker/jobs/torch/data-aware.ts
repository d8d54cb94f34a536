/**
 * The data-aware merges on PyTorch (RegMean, RegMean++, Fisher): the engine gathers the statistics the TF.js path
 * gathers (src/worker/stats/), the merge itself is core's (src/core/merge/methods/), on the ingredients' tensors as
 * the core readers give them, so the values scored here are those `saveSoup` writes from the same statistics.
 * PyTorch kernels have their outputs first ([out, in], [out, in, k…]): their statistics say so (kernelLayout).
 */
import { prepareMerge, type MergeStatistics } from "../../../core/merge/plan.js";
import type { TensorStatistics } from "../../../core/merge/method.js";
import { uniformAverage } from "../../../core/merge/methods/linear.js";
import { DEFAULT_REGMEAN_ALPHA, regmeanMerge } from "../../../core/merge/methods/regmean.js";
import type { JobContext } from "../../../core/job-context.js";
import type { LossChoice } from "../../../protocol/choices.js";
import type { DataAwareMethod, DataAwareOptions, FisherTarget } from "../../../protocol/worker.js";
import { singleMix } from "../../evaluate/soup.js";
import type { Task } from "../../learn/loss.js";
import type { TorchEngine } from "../../torch/torch-engine.js";
import {
  dataAwareSpec,
  mergeWithStatistics,
  METHOD_NAMES,
  statisticsChoices,
  type DataAwareMerge,
} from "../session/data-aware-merge.js";
import { writeMix } from "./rows.js";
import { outputUnits, type TorchSession } from "./session.js";
import { torchObjective } from "./task.js";

const LEARN = { split: "learn" } as const;

/** The task whose log-likelihood Fisher differentiates: the supervised one, or with no labels the entropy objective's. */
export function torchStatisticsTask(session: TorchSession, loss: LossChoice | undefined): Task {
  const labelled = session.data.split.learn.y !== undefined;
  return torchObjective(labelled ? "supervised" : "entropy", session.labels, outputUnits(session), loss).task;
}

/** Every ingredient's values of one tensor, by name, from the tensors the session read. */
function ingredientValues(session: TorchSession, name: string): Float32Array[] {
  return session.ingredients.map((ing) => {
    const t = ing.tensors.find((tensor) => tensor.name === name);
    if (t === undefined || !(t.data instanceof Float32Array))
      throw new Error(`${ing.file}: no float32 tensor ${name} (the engine merges it)`);
    return t.data;
  });
}

function shapeOf(session: TorchSession, name: string): number[] {
  return [...session.ingredients[0]!.tensors.find((t) => t.name === name)!.shape];
}

export interface TorchStatisticsOptions {
  method: DataAwareMethod;
  task: Task;
  alpha?: number;
  examples?: number;
  fisherTarget?: FisherTarget;
  /** Called before each ingredient (RegMean, Fisher) or each layer (RegMean++). */
  onStep?: (index: number, total: number) => void;
}

/** The statistics of a data-aware merge on the learn split, in the engine; notes on what is plainly averaged. */
export async function torchStatistics(
  session: TorchSession,
  options: TorchStatisticsOptions,
): Promise<{ statistics: MergeStatistics; notes: string[] }> {
  const engine = session.engine;
  const n = engine.ingredients;
  const statistics = new Map<string, TensorStatistics>();
  if (options.method === "fisher") {
    const count = Math.min(engine.rows("learn"), options.examples!);
    const rows = { split: "learn" as const, indices: Int32Array.from({ length: count }, (_, k) => k) };
    const byIngredient: Array<Map<string, Float32Array>> = [];
    for (let i = 0; i < n; i++) {
      options.onStep?.(i, n);
      await writeMix(engine, singleMix(n, i));
      byIngredient.push(await engine.fisherDiagonals(rows, options.task, options.fisherTarget ?? "labels"));
    }
    for (const name of byIngredient[0]!.keys()) statistics.set(name, { fisher: byIngredient.map((f) => f.get(name)!) });
    return { statistics, notes: [] };
  }
  const { maps, notes } = await engine.linearMaps();
  if (options.method === "regmean") {
    const grams: Float64Array[][] = maps.map(() => []);
    for (let i = 0; i < n; i++) {
      options.onStep?.(i, n);
      await writeMix(engine, singleMix(n, i));
      const g = await engine.gramMatrices(
        LEARN,
        maps.map((m) => m.module),
      );
      g.forEach((m, k) => grams[k]!.push(m));
    }
    maps.forEach((m, k) => statistics.set(m.weight, { gram: grams[k]!, kernelLayout: "outputs-first" }));
    return { statistics, notes };
  }
  // RegMean++: from the input up, each layer's Gram matrix on the inputs the model merged so far gives (the layers
  // before it merged by RegMean, every other tensor the plain average), as src/worker/stats/merged-prefix.ts.
  const alpha = options.alpha ?? DEFAULT_REGMEAN_ALPHA;
  const names = engine.mergedTensors.map((m) => m.name);
  await engine.setTensors(
    names,
    names.map((name) => uniformAverage(ingredientValues(session, name), name)),
  );
  for (const [index, map] of maps.entries()) {
    options.onStep?.(index, maps.length);
    const [gram] = await engine.gramMatrices(LEARN, [map.module]);
    const entry: TensorStatistics = { gram: Array.from({ length: n }, () => gram!), kernelLayout: "outputs-first" };
    statistics.set(map.weight, entry);
    // Ridge warnings are left to the merge itself, which solves the same system again from these statistics.
    const merged = regmeanMerge({
      tensor: { name: map.weight, layer: map.module, shape: shapeOf(session, map.weight) },
      models: ingredientValues(session, map.weight),
      params: { alpha },
      modelParams: [],
      statistics: entry,
    });
    await engine.setTensors([map.weight], [merged]);
  }
  return { statistics, notes };
}

/** The same record as the TensorFlow.js merge's; `values` are the engine's merged tensors (engine.mergedTensors order). */
export type TorchDataAwareMerge = DataAwareMerge;

/** The statistics, then every tensor merged by core's method, as session/data-aware-merge.ts dataAwareMerge. */
export async function torchDataAwareMerge(
  session: TorchSession,
  method: DataAwareMethod,
  options: DataAwareOptions,
  task: Task,
  context: JobContext,
  jobId?: string,
): Promise<TorchDataAwareMerge> {
  const spec = dataAwareSpec(method, session.models, options);
  const prepared = prepareMerge(spec);
  const { examples, fisherTarget } = statisticsChoices(method, options, session.data.split.learn.y !== undefined);
  const { statistics, notes } = await torchStatistics(session, {
    method,
    task,
    ...(spec.params.alpha !== undefined ? { alpha: spec.params.alpha as number } : {}),
    ...(examples !== undefined ? { examples } : {}),
    ...(fisherTarget !== undefined ? { fisherTarget } : {}),
    onStep: (i, total) =>
      context.progress({
        jobId,
        phase: "learning",
        step: i,
        totalSteps: total,
        message:
          method === "regmean_plusplus"
            ? `${METHOD_NAMES[method]}: layer ${i + 1} of ${total}`
            : `${METHOD_NAMES[method]}: statistics of ingredient ${i + 1} of ${total}`,
      }),
  });
  const tensors = session.engine.mergedTensors.map(({ name }, k) => ({
    info: { name, layer: session.engine.layerOf[k]!, shape: shapeOf(session, name), dtype: "float32" as const },
    ingredients: ingredientValues(session, name),
  }));
  return mergeWithStatistics(spec, prepared, { statistics, notes }, tensors, { examples, fisherTarget });
}

/** Writes merged values (every merged tensor, engine order) into the engine. */
export async function writeMergedValues(engine: TorchEngine, values: readonly Float32Array[]): Promise<void> {
  await engine.setTensors(
    engine.mergedTensors.map((m) => m.name),
    values,
  );
}
