/**
 * The worker process: runs everything that touches tensors (TensorFlow.js, merges) away from the editor and the
 * terminal's event loop. Speaks JSON-RPC over the IPC channel the parent opened with child_process.fork.
 */
import { ResponseError, type CancellationToken, type RequestType } from "vscode-jsonrpc";
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from "vscode-jsonrpc/node";
import { CancelledError, ModelFileError, UsageError } from "../core/errors.js";
import { WorkerErrorCodes } from "../protocol/errors.js";
import { WorkerNotifications, WorkerRequests } from "../protocol/worker.js";
import type { JobContext } from "./jobs/context.js";
import { runInspect } from "./jobs/inspect.js";
import { runLayerStats } from "./jobs/layer-stats.js";
import { runCompare, runDataMerge } from "./jobs/data-aware.js";
import { runApply, runMerge } from "./jobs/merge.js";
import { runBackend, runEvaluate, runGreedy, runLearn } from "./jobs/learn.js";

if (!process.send) {
  process.stderr.write("The Model Soup worker runs as a child process (child_process.fork), not on its own.\n");
  process.exit(2);
}

const connection = createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process));

function toResponseError(error: unknown): ResponseError<unknown> {
  if (error instanceof ModelFileError) return new ResponseError(WorkerErrorCodes.modelFile, error.message, { file: error.file });
  if (error instanceof UsageError) return new ResponseError(WorkerErrorCodes.usage, error.message);
  if (error instanceof CancelledError) return new ResponseError(WorkerErrorCodes.cancelled, error.message);
  const e = error as Error;
  return new ResponseError(-32603, e?.message ?? String(error), { stack: e?.stack });
}

/**
 * TensorFlow.js has one global backend and engine, and learning yields between steps: jobs that run models go
 * one at a time, in the order they came. Merges (no TensorFlow.js) run alongside them.
 */
let modelJobs: Promise<unknown> = Promise.resolve();
function oneAtATime<P, R>(job: (params: P, context: JobContext) => Promise<R>): (params: P, context: JobContext) => Promise<R> {
  return (params, context) => {
    const run = modelJobs.then(() => job(params, context));
    modelJobs = run.catch(() => undefined);
    return run;
  };
}

function handle<P, R>(type: RequestType<P, R, void>, job: (params: P, context: JobContext) => Promise<R>): void {
  const handler = async (params: P, token: CancellationToken): Promise<R> => {
    const context: JobContext = {
      token,
      progress: (p) => void connection.sendNotification(WorkerNotifications.progress, p),
      log: (level, message) => void connection.sendNotification(WorkerNotifications.log, { level, message }),
    };
    try {
      return await job(params, context);
    } catch (error) {
      throw toResponseError(error);
    }
  };
  connection.onRequest(type, handler as never);
}

handle(WorkerRequests.inspect, runInspect);
handle(WorkerRequests.merge, runMerge);
handle(WorkerRequests.apply, runApply);
handle(WorkerRequests.layerStats, runLayerStats);
handle(WorkerRequests.learn, oneAtATime(runLearn));
handle(WorkerRequests.evaluate, oneAtATime(runEvaluate));
handle(WorkerRequests.greedy, oneAtATime(runGreedy));
handle(WorkerRequests.backend, oneAtATime(runBackend));
handle(WorkerRequests.dataMerge, oneAtATime(runDataMerge));
handle(WorkerRequests.compare, oneAtATime(runCompare));

// The parent going away (editor closed, CLI interrupted) ends the worker.
process.on("disconnect", () => process.exit(0));
connection.listen();
