/**
 * Starts the worker process and talks to it over JSON-RPC on the IPC channel. Runs in the parent (extension
 * host or CLI): it never imports TensorFlow.js or vscode.
 */
import { fork, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CancellationTokenSource,
  ResponseError,
  type CancellationToken,
  type MessageConnection,
  type RequestType,
} from "vscode-jsonrpc";
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from "vscode-jsonrpc/node";
import { CancelledError, EngineError, ModelFileError, UsageError } from "../core/errors.js";
import { WorkerErrorCodes } from "../protocol/errors.js";
import { WorkerNotifications, type LogParams, type ProgressParams } from "../protocol/worker.js";

export class WorkerDiedError extends Error {
  override name = "WorkerDiedError";
}

/** The worker's errors as the kinds of error they were in the worker. */
function fromResponseError(error: unknown): unknown {
  if (!(error instanceof ResponseError)) return error;
  switch (error.code) {
    case WorkerErrorCodes.modelFile: {
      const file = (error.data as { file?: string } | undefined)?.file ?? "";
      const prefix = `${file}: `;
      return new ModelFileError(
        file,
        error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message,
      );
    }
    case WorkerErrorCodes.usage:
      return (error.data as { engine?: boolean } | undefined)?.engine
        ? new EngineError(error.message)
        : new UsageError(error.message);
    case WorkerErrorCodes.cancelled:
      return new CancelledError(error.message);
    default: {
      const data = (error.data ?? {}) as { stack?: string; code?: string; path?: string; syscall?: string };
      const wrapped: NodeJS.ErrnoException = new Error(error.message);
      if (data.stack) wrapped.stack = data.stack;
      if (data.code) Object.assign(wrapped, { code: data.code, path: data.path, syscall: data.syscall });
      return wrapped;
    }
  }
}

/** The nearest folder above this module whose package.json is Model Soup's (works from src/ and from dist/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).name === "model-soup") return dir;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error("Model Soup: cannot find its package folder above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export function defaultWorkerScript(): string {
  return join(packageRoot(), "dist", "worker.cjs");
}

export interface WorkerOptions {
  /** The bundled worker script (default: dist/worker.cjs of this package). */
  script?: string;
  /** The Node runtime to run it with (default: the current one). */
  execPath?: string;
  /**
   * Node options for the worker (default none). Not the parent's: fork would pass on a loader such as tsx, which
   * then transforms the bundle at every start, or an --inspect port the parent already holds.
   */
  execArgv?: string[];
  onProgress?: (p: ProgressParams) => void;
  onLog?: (l: LogParams) => void;
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

export class WorkerClient {
  private readonly child: ChildProcess;
  private readonly connection: MessageConnection;
  private readonly died: Promise<never>;
  private exited = false;

  constructor(options: WorkerOptions = {}) {
    const script = options.script ?? defaultWorkerScript();
    this.child = fork(script, [], {
      execPath: options.execPath,
      execArgv: options.execArgv ?? [],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "json",
    });
    this.died = new Promise<never>((_, reject) => {
      this.child.once("exit", (code, signal) => {
        this.exited = true;
        reject(
          new WorkerDiedError(`The Model Soup worker stopped (${signal ?? `exit code ${code}`}) before it answered`),
        );
        this.connection.dispose();
        options.onExit?.(code, signal);
      });
      this.child.once("error", (error) =>
        reject(new WorkerDiedError(`The Model Soup worker could not start: ${error.message}`)),
      );
    });
    this.died.catch(() => undefined);
    this.connection = createMessageConnection(new IPCMessageReader(this.child), new IPCMessageWriter(this.child));
    if (options.onProgress) this.connection.onNotification(WorkerNotifications.progress, options.onProgress);
    if (options.onLog) this.connection.onNotification(WorkerNotifications.log, options.onLog);
    this.connection.listen();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.exited;
  }

  /** Sends a request; rejects with WorkerDiedError when the worker dies first. */
  async request<P, R>(type: RequestType<P, R, void>, params: P, token?: CancellationToken): Promise<R> {
    if (this.exited) throw new WorkerDiedError("The Model Soup worker is not running");
    const source = token ? undefined : new CancellationTokenSource();
    try {
      return await Promise.race([
        this.connection.sendRequest(type, params as never, token ?? source!.token),
        this.died,
      ]);
    } catch (error) {
      throw fromResponseError(error);
    } finally {
      source?.dispose();
    }
  }

  /** Stops the worker: pending requests reject. */
  dispose(): void {
    if (!this.exited) this.child.kill();
  }
}
