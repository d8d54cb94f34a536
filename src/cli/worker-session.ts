/** Runs one request on a worker process for a CLI command: progress on a terminal, Ctrl-C cancels cleanly. */
import { CancellationTokenSource, type RequestType } from "vscode-jsonrpc";
import type { ProgressParams } from "../protocol/worker.js";
import { WorkerClient } from "../worker/client.js";
import type { CliIO } from "./command.js";
import { progressLine } from "./text/progress.js";

export async function runOnWorker<P, R>(io: CliIO, type: RequestType<P, R, void>, params: P): Promise<R> {
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
  const client = new WorkerClient({
    onProgress,
    onLog: (l) => {
      if (l.level === "info" && !process.env.MODEL_SOUP_VERBOSE) return;
      clear();
      io.stderr(`${l.level}: ${l.message}\n`);
    },
  });
  const cancel = new CancellationTokenSource();
  const onInterrupt = () => {
    clear();
    io.stderr("Cancelling (nothing will be written)...\n");
    cancel.cancel();
  };
  process.on("SIGINT", onInterrupt);
  try {
    return await client.request(type, params, cancel.token);
  } finally {
    process.off("SIGINT", onInterrupt);
    clear();
    client.dispose();
    cancel.dispose();
  }
}
