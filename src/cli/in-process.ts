/**
 * Runs a job that needs no TensorFlow.js (a fixed-weight merge) in the CLI's own process: starting a worker
 * process costs about 0.35 s of CPU (Node, and compiling its 11 MB bundle), as much as the whole NumPy merge of
 * four 250 MB files. The same progress lines as a worker job; Ctrl-C / SIGTERM cancel it and wait for it to stop
 * (it removes its temporary files), as they end a worker.
 */
import { CancellationTokenSource } from "vscode-jsonrpc";
import type { JobContext } from "../core/job-context.js";
import type { CliIO } from "./command.js";
import { stopOnInterrupt } from "./interrupt.js";
import { jobDisplay } from "./worker-session.js";

export async function runInProcess<P, R>(
  io: CliIO,
  job: (params: P, context: JobContext) => Promise<R>,
  params: P,
): Promise<R> {
  const { clear, onProgress, onLog } = jobDisplay(io);
  const cancellation = new CancellationTokenSource();
  const running = job(params, {
    token: cancellation.token,
    progress: onProgress,
    log: (level, message) => onLog({ level, message }),
  });
  const unregister = stopOnInterrupt(async () => {
    clear();
    cancellation.cancel();
    await running.catch(() => undefined);
  });
  try {
    return await running;
  } finally {
    unregister();
    clear();
    cancellation.dispose();
  }
}
