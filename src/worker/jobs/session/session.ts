/** What every job on models and data does first and last: pick the backend, read the models and the data, release them. */
import type { BackendName, LearnParams, RunOptions } from "../../../protocol/worker.js";
import { selectBackend } from "../../backend.js";
import type { JobContext } from "../../../core/job-context.js";
import { disposeJobData, loadJobData, type JobData } from "./data.js";
import { disposeProblem, loadProblem, type LoadedProblem } from "./problem.js";
import { alignLoaded } from "./align.js";
import type { AlignmentOutcome } from "../../align/align-problem.js";

export async function useBackend(preference: BackendName | undefined, context: JobContext): Promise<BackendName> {
  const choice = await selectBackend(preference);
  for (const s of choice.skipped) context.log("info", `TensorFlow.js backend ${s.backend} not used: ${s.reason}`);
  context.log("info", `TensorFlow.js backend: ${choice.backend}`);
  return choice.backend;
}

export interface Session {
  backend: BackendName;
  loaded: LoadedProblem;
  data: JobData;
  started: number;
  alignment?: AlignmentOutcome;
}

type TorchOnlyOptions = Pick<RunOptions, "python" | "device" | "dtype" | "nproc" | "nnodes">;
const TORCH_ONLY: Record<keyof TorchOnlyOptions, string> = {
  python: "--python",
  device: "--device",
  dtype: "--dtype",
  nproc: "--nproc",
  nnodes: "--nnodes",
};

/** "--python and --nproc apply to PyTorch models only; these TensorFlow.js models ran on wasm" when given. */
export function torchOnlyWarning(params: TorchOnlyOptions, backend: BackendName): string | undefined {
  const ignored = torchOnlyGiven(params);
  return ignored === undefined ? undefined : `${ignored} TensorFlow.js models ran on ${backend}`;
}

/** "--python and --nproc apply to PyTorch models only;" when such options were given, else undefined. */
function torchOnlyGiven(params: TorchOnlyOptions): string | undefined {
  const given = (Object.keys(TORCH_ONLY) as (keyof TorchOnlyOptions)[]).filter((k) => params[k] !== undefined);
  if (given.length === 0) return undefined;
  const names = given.map((k) => TORCH_ONLY[k]);
  const list = names.length === 1 ? names[0]! : `${names.slice(0, -1).join(", ")} and ${names.at(-1)!}`;
  return `${list} ${names.length === 1 ? "applies" : "apply"} to PyTorch models only; these`;
}

export type SessionParams = {
  models: string[];
  data: LearnParams["data"];
  backend?: BackendName;
  jobId?: string;
  base?: string;
  align?: LearnParams["align"];
  loss?: LearnParams["loss"];
  architecture?: string;
} & TorchOnlyOptions;

/**
 * What a job without a base or an alignment opens its session with: the models, the data and how to run them, and
 * the PyTorch-only options, for the report's line that TensorFlow.js models ran without them.
 */
export function plainSessionParams(params: Omit<SessionParams, "base" | "align">): SessionParams {
  return {
    models: params.models,
    data: params.data,
    backend: params.backend,
    jobId: params.jobId,
    loss: params.loss,
    architecture: params.architecture,
    python: params.python,
    device: params.device,
    dtype: params.dtype,
    nproc: params.nproc,
    nnodes: params.nnodes,
  };
}

export async function openSession(params: SessionParams, context: JobContext): Promise<Session> {
  const started = performance.now();
  const progress = (message: string) =>
    context.progress({ jobId: params.jobId, phase: "loading", step: 0, totalSteps: 0, message });
  const backend = await useBackend(params.backend, context);
  progress("Reading the models");
  const loaded = await loadProblem(params.models, params.base, params.architecture);
  const ignored = torchOnlyWarning(params, backend);
  if (ignored !== undefined) loaded.warnings.push(ignored);
  try {
    progress("Reading the data");
    const data = await loadJobData(params.data, loaded, params.loss);
    for (const note of data.notes) context.log("info", note);
    const alignment = params.align
      ? await alignLoaded(loaded, params.models, params.align, data, params, context).catch((e) => {
          disposeJobData(data);
          throw e;
        })
      : undefined;
    return { backend, loaded, data, started, ...(alignment ? { alignment } : {}) };
  } catch (error) {
    disposeProblem(loaded);
    throw error;
  }
}

export function closeSession(session: Session): void {
  disposeJobData(session.data);
  disposeProblem(session.loaded);
}

export { splitReport as splitSizes } from "./data.js";
