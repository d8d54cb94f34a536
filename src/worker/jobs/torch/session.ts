/**
 * What a PyTorch job holds while it runs: the interpreter, the ingredients' tensors, the data split once, and the
 * engine (a child Python process) that has both. Opened and closed once per job; the engine child is ended when
 * the job ends, when it is cancelled, and when the worker process exits.
 */
import type { DatasetTask } from "../../../core/data/dataset.js";
import { EngineError, ModelFileError, UsageError } from "../../../core/errors.js";
import type { JobContext } from "../../../core/job-context.js";
import { nonFiniteWarning, scanNonFinite } from "../../../core/non-finite.js";
import type { PythonWithTorch } from "../../../core/python/find-python.js";
import type { AlignOptions, DataSpec, RunOptions } from "../../../protocol/worker.js";
import { selectBackend } from "../../backend.js";
import { rankOptions } from "../../torch/engine-ranks.js";
import { readIngredient, TorchEngine, type IngredientTensors } from "../../torch/torch-engine.js";
import { checkAgainstOutput, engineSplit, loadTorchData, type TorchJobData } from "./data.js";
import type { TorchModel } from "./engine-choice.js";
import { jobPython } from "./python.js";
import { alignTorchIngredients, type TorchAlignment } from "./align.js";

export interface TorchSession {
  readonly engine: TorchEngine;
  readonly model: TorchModel;
  readonly python: PythonWithTorch;
  readonly models: readonly string[];
  readonly ingredients: readonly IngredientTensors[];
  readonly data: TorchJobData;
  /** The model's output shape on one row, [1, ...]. */
  readonly outputShape: readonly number[];
  /** How the labels were read. */
  readonly labels: DatasetTask;
  /** Lines every report of the job shows (non-finite weights, the label numbering, what was set aside). */
  readonly warnings: string[];
  readonly started: number;
  /** What the report and the recipe say ran the models: engine.description. */
  readonly backend: string;
  /** The device and dtype asked for, for a written file's check on a fresh engine. */
  readonly run: Pick<RunOptions, "device" | "dtype">;
  /** With --align: what it did; `ingredients` and the engine's soups are then the aligned models'. */
  readonly alignment?: TorchAlignment;
}

export interface TorchSessionParams extends Pick<
  RunOptions,
  | "python"
  | "pythonCandidates"
  | "device"
  | "dtype"
  | "nproc"
  | "nnodes"
  | "nodeRank"
  | "masterAddr"
  | "masterPort"
  | "loss"
> {
  readonly models: readonly string[];
  readonly base?: string;
  readonly data: DataSpec;
  readonly jobId?: string;
  readonly align?: AlignOptions;
  readonly backend?: string;
}

/** The engines of this process, ended when it exits (a cancelled CLI ends the worker; its children go with it). */
const live = new Set<TorchEngine>();
let exitHook = false;
function track(engine: TorchEngine): void {
  live.add(engine);
  if (exitHook) return;
  exitHook = true;
  process.on("exit", () => {
    for (const e of live) e.kill("The worker process ended.");
  });
}

function weightWarnings(ingredients: readonly IngredientTensors[]): string[] {
  const out: string[] = [];
  for (const ing of ingredients)
    for (const t of ing.tensors) {
      if (!(t.data instanceof Float32Array)) continue;
      const warning = nonFiniteWarning(ing.file, t.name, scanNonFinite(t.data));
      if (warning) out.push(warning);
    }
  return out;
}

export async function openTorchSession(
  params: TorchSessionParams,
  model: TorchModel,
  context: JobContext,
): Promise<TorchSession> {
  const started = performance.now();
  const progress = (message: string) =>
    context.progress({ jobId: params.jobId, phase: "loading", step: 0, totalSteps: 0, message });
  if (params.models.length < 2) throw new UsageError(`a soup needs at least two models; got ${params.models.length}`);
  if (params.align !== undefined && "torchScript" in model.source)
    throw new ModelFileError(
      model.source.torchScript,
      "--align needs the model's graph, which torch.fx traces from a PyTorch architecture; a TorchScript file cannot be traced (give its state dict with --architecture)",
    );
  // The test rows' predictions are scored in TypeScript (evaluate/score.ts), as the TF.js jobs score theirs: on the
  // plain-JS backend, chosen as every backend is (quietly, in production mode).
  await selectBackend("cpu");
  progress("Looking for Python with PyTorch");
  const python = await jobPython(params.python, params.pythonCandidates);
  progress("Reading the models");
  const ingredients: IngredientTensors[] = [];
  for (const path of params.models) ingredients.push(await readIngredient(path));
  const base = params.base === undefined ? undefined : await readIngredient(params.base);
  progress("Reading the data");
  const data = await loadTorchData(params.data, params.loss);
  for (const note of data.notes) context.log("info", note);
  progress(`Starting PyTorch ${python.torchVersion} (${python.path})`);
  const engine = await TorchEngine.start({
    python,
    model: model.source,
    ingredients,
    ...(base !== undefined ? { base } : {}),
    splits: {
      learn: engineSplit(data.split.learn),
      validation: engineSplit(data.split.validation),
      test: engineSplit(data.split.test),
    },
    ...(params.device !== undefined ? { device: params.device } : {}),
    ...(params.dtype !== undefined ? { dtype: params.dtype } : {}),
    ...rankOptions(params),
    cancel: context.token,
  });
  track(engine);
  try {
    context.log("info", `PyTorch engine: ${engine.description}`);
    if (model.from === "model-soup.json" || model.from === "config.json")
      context.log("info", `architecture ${model.architecture} (${model.from})`);
    const shape = await firstOutputShape(engine, data, params.data.path);
    checkAgainstOutput(data, params.data, shape);
    const warnings = [
      ...weightWarnings(base !== undefined ? [...ingredients, base] : ingredients),
      ...(data.labelNote !== undefined ? [data.labelNote] : []),
      ...data.dataWarnings,
      ...(params.backend !== undefined
        ? [`--backend ${params.backend} is a TensorFlow.js backend; PyTorch models ran on ${engine.description}`]
        : []),
    ];
    let aligned: Awaited<ReturnType<typeof alignTorchIngredients>> | undefined;
    if (params.align !== undefined) {
      progress(`Aligning the models (${params.align.method} matching)`);
      aligned = await alignTorchIngredients(
        engine,
        ingredients,
        data,
        params.align,
        {
          models: params.models,
          ...(params.base !== undefined ? { base: params.base } : {}),
          seed: params.data.seed ?? 0,
          labels: data.split.learn.task,
          ...(params.loss !== undefined ? { loss: params.loss } : {}),
          outputUnits: shape.slice(1).reduce((a, b) => a * b, 1),
        },
        context,
      );
    }
    return {
      engine,
      model,
      python,
      models: params.models,
      ingredients: aligned?.ingredients ?? ingredients,
      ...(aligned !== undefined ? { alignment: aligned.alignment } : {}),
      data,
      outputShape: shape,
      labels: data.split.learn.task,
      warnings,
      started,
      backend: engine.description,
      run: {
        ...(params.device !== undefined ? { device: params.device } : {}),
        ...(params.dtype !== undefined ? { dtype: params.dtype } : {}),
      },
    };
  } catch (error) {
    await closeTorchSession({ engine });
    throw error;
  }
}

/** The model's output shape on the first learn row; rows the model cannot run end in one line naming the data. */
async function firstOutputShape(engine: TorchEngine, data: TorchJobData, file: string): Promise<readonly number[]> {
  try {
    return (await engine.predict({ split: "learn", indices: Int32Array.of(0) })).shape;
  } catch (error) {
    if (!(error instanceof EngineError)) throw error;
    const row = data.split.learn.xShape.slice(1).join(", ");
    throw new ModelFileError(file, `its rows (each [${row}]) do not run through the model: ${error.message}`);
  }
}

export async function closeTorchSession(session: Pick<TorchSession, "engine">): Promise<void> {
  live.delete(session.engine);
  await session.engine.dispose();
}

/** The number of output units of the model (its output's size per row). */
export function outputUnits(session: Pick<TorchSession, "outputShape">): number {
  return session.outputShape.slice(1).reduce((a, b) => a * b, 1);
}
