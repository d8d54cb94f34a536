/**
 * The worker process: runs everything that touches tensors (TensorFlow.js, merges) away from the editor and the
 * terminal's event loop. Speaks JSON-RPC over the IPC channel the parent opened with child_process.fork.
 */
import { ResponseError, type CancellationToken, type RequestType } from "vscode-jsonrpc";
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from "vscode-jsonrpc/node";
import { CancelledError, EngineError, ModelFileError, UsageError } from "../core/errors.js";
import { tmpdir } from "node:os";
import { removeLiveTempsSync, removeStaleTemps } from "../core/io/temp-files.js";
import { WorkerErrorCodes } from "../protocol/errors.js";
import { WorkerNotifications, WorkerRequests } from "../protocol/worker.js";
import type { JobContext } from "../core/job-context.js";
import { runInspect } from "./jobs/inspect.js";
import { runLayerStats } from "./jobs/layer-stats.js";
import { runTensorStats } from "./jobs/tensor-stats.js";
import { runCompareFiles } from "./jobs/compare-files.js";
import { runCompare } from "./jobs/compare.js";
import { runFixedEvaluate } from "./jobs/fixed-evaluate.js";
import { runDataMerge } from "./jobs/data-merge.js";
import { runMerge } from "../core/soup/fixed-merge.js";
import { runCheckedMerge, savesScoredSoup } from "./jobs/merge.js";
import { runApply } from "./jobs/apply.js";
import { runAlign } from "./jobs/align.js";
import { runHealth } from "./health.js";
import { runBackend } from "./jobs/backend.js";
import { runEvaluate } from "./jobs/evaluate.js";
import { runGreedy } from "./jobs/greedy.js";
import { runFollowRanks } from "./jobs/torch/follow.js";
import { runLearn } from "./jobs/learn.js";

if (!process.send) {
  process.stderr.write("The Model Soup worker runs as a child process (child_process.fork), not on its own.\n");
  process.exit(2);
}

const connection = createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process));

function toResponseError(error: unknown): ResponseError<unknown> {
  if (error instanceof ModelFileError)
    return new ResponseError(WorkerErrorCodes.modelFile, error.message, { file: error.file });
  if (error instanceof EngineError) return new ResponseError(WorkerErrorCodes.usage, error.message, { engine: true });
  if (error instanceof UsageError) return new ResponseError(WorkerErrorCodes.usage, error.message);
  if (error instanceof CancelledError) return new ResponseError(WorkerErrorCodes.cancelled, error.message);
  const e = error as NodeJS.ErrnoException;
  // A system error keeps its code and path, so the client can name the file in one line.
  return new ResponseError(-32603, e?.message ?? String(error), {
    stack: e?.stack,
    code: e?.code,
    path: e?.path,
    syscall: e?.syscall,
  });
}

/**
 * TensorFlow.js has one global backend and engine, and learning yields between steps: jobs that run models go
 * one at a time, in the order they came. Merges (no TensorFlow.js) run alongside them.
 */
let modelJobs: Promise<unknown> = Promise.resolve();
function oneAtATime<P, R>(
  job: (params: P, context: JobContext) => Promise<R>,
): (params: P, context: JobContext) => Promise<R> {
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
// A merge that saves a scored soup scores its written file with TensorFlow.js: it waits its turn like a model job.
const checkedMerge = oneAtATime(runCheckedMerge);
handle(WorkerRequests.merge, (params, context) =>
  savesScoredSoup(params) ? checkedMerge(params, context) : runMerge(params, context),
);
handle(WorkerRequests.apply, runApply);
handle(WorkerRequests.layerStats, runLayerStats);
handle(WorkerRequests.tensorStats, runTensorStats);
handle(WorkerRequests.compareFiles, runCompareFiles);
handle(WorkerRequests.learn, oneAtATime(runLearn));
handle(WorkerRequests.evaluate, oneAtATime(runEvaluate));
handle(WorkerRequests.greedy, oneAtATime(runGreedy));
handle(WorkerRequests.backend, oneAtATime(runBackend));
handle(WorkerRequests.align, oneAtATime(runAlign));
handle(WorkerRequests.dataMerge, oneAtATime(runDataMerge));
handle(WorkerRequests.compare, oneAtATime(runCompare));
handle(WorkerRequests.fixedEvaluate, oneAtATime(runFixedEvaluate));
handle(WorkerRequests.followRanks, oneAtATime(runFollowRanks));
handle(WorkerRequests.health, runHealth);

// The parent going away (editor closed, CLI interrupted) or a signal ends the worker, removing its temporary files
// first; temporaries a SIGKILL leaves are removed as stale by the next run (core/io/temp-files.ts).
process.on("disconnect", () => {
  removeLiveTempsSync();
  process.exit(0);
});
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const) {
  process.on(signal, () => {
    removeLiveTempsSync();
    process.exit(code);
  });
}
void removeStaleTemps(tmpdir());
// Its stderr is the terminal's or the editor's log: a failure outside a request is one line there, the stack only
// with MODEL_SOUP_DEBUG=1 (the CLI's --debug sets it).
for (const event of ["uncaughtException", "unhandledRejection"] as const) {
  process.on(event, (error: unknown) => {
    const stack = process.env.MODEL_SOUP_DEBUG === "1" ? `\n${(error as Error)?.stack ?? ""}` : "";
    process.stderr.write(
      `model-soup worker: internal error: ${String((error as Error)?.message ?? error).split("\n")[0]}${stack}\n`,
    );
    removeLiveTempsSync();
    process.exit(3);
  });
}
connection.listen();
