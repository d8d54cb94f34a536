/** Runs one request on a worker process for a CLI command: progress on a terminal, Ctrl-C / SIGTERM end it (interrupt.ts). */
import type { RequestType } from "vscode-jsonrpc";
import { escapeControl } from "../core/io/display.js";
import type { LogParams, ProgressParams } from "../protocol/worker.js";
import { WorkerClient } from "../worker/client.js";
import type { CliIO } from "./command.js";
import { stopOnInterrupt } from "./interrupt.js";
import { progressLine } from "./text/progress.js";

/** A job's progress as one line rewritten in place on a terminal (nothing otherwise), and its log lines. */
export function jobDisplay(io: CliIO) {
  let lastLine = "";
  const clear = () => {
    if (lastLine) io.stderr(`\r${" ".repeat(lastLine.length)}\r`);
    lastLine = "";
  };
  const onProgress = (p: ProgressParams) => {
    if (!io.isTTY) return;
    const line = progressLine(p);
    clear();
    io.stderr(line);
    lastLine = line;
  };
  const onLog = (l: LogParams) => {
    if (l.level === "info" && !process.env.MODEL_SOUP_VERBOSE) return;
    clear();
    io.stderr(`${l.level}: ${escapeControl(l.message)}\n`);
  };
  return { clear, onProgress, onLog };
}

export async function runOnWorker<P, R>(io: CliIO, type: RequestType<P, R, void>, params: P): Promise<R> {
  const { clear, onProgress, onLog } = jobDisplay(io);
  let exited!: () => void;
  const workerExit = new Promise<void>((resolve) => (exited = resolve));
  const client = new WorkerClient({
    onExit: () => exited(),
    onProgress,
    onLog,
  });
  // Interrupted: the worker is ended (it removes its temporary files as it exits) and waited for.
  const unregister = stopOnInterrupt(async () => {
    clear();
    client.dispose();
    await workerExit;
  });
  try {
    return await client.request(type, params);
  } finally {
    unregister();
    clear();
    client.dispose();
  }
}
