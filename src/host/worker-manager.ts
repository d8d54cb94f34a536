/**
 * Owns the worker process for the extension host: started when a Merge panel opens or on the first job, replaced after a crash
 * while the restart policy allows it, restarted on the user's request, disposed with the extension.
 */
import * as vscode from "vscode";
import type { CancellationToken as RpcToken, RequestType } from "vscode-jsonrpc";
import { WorkerClient } from "../client/worker-client.js";
import type { LogParams, ProgressParams } from "../protocol/worker.js";
import { RestartPolicy } from "./restart-policy.js";
import { workerNodePath } from "./settings.js";

export class WorkerManager implements vscode.Disposable {
  private client: WorkerClient | undefined;
  private stoppedAfterCrashes = false;
  private readonly policy = new RestartPolicy(3, 60_000);
  private readonly progressEmitter = new vscode.EventEmitter<ProgressParams>();
  readonly onProgress = this.progressEmitter.event;

  constructor(
    private readonly workerScript: string,
    private readonly output: vscode.LogOutputChannel,
  ) {}

  get pid(): number | undefined {
    return this.client?.running ? this.client.pid : undefined;
  }

  private start(): WorkerClient {
    if (this.stoppedAfterCrashes) {
      throw new Error(
        `The Model Soup worker crashed ${this.policy.maxCrashes} times within ${this.policy.windowMs / 1000} s and was not ` +
          'restarted. Run "Model Soup: Restart Worker" to try again (see the "Model Soup" output for its messages).',
      );
    }
    const execPath = workerNodePath();
    this.output.info(`Starting the worker (${execPath ?? "the editor's Node runtime"}): ${this.workerScript}`);
    const client: WorkerClient = new WorkerClient({
      script: this.workerScript,
      execPath,
      onProgress: (p) => this.progressEmitter.fire(p),
      onLog: (l: LogParams) => this.output[l.level === "warning" ? "warn" : l.level](l.message),
      onExit: (code, signal) => this.exited(client, code, signal),
    });
    this.client = client;
    return client;
  }

  private exited(client: WorkerClient, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.client !== client) return; // a worker we replaced or disposed on purpose
    this.client = undefined;
    this.output.warn(`The worker stopped (${signal ?? `exit code ${code}`})`);
    if (!this.policy.recordCrash(Date.now())) {
      this.stoppedAfterCrashes = true;
      void vscode.window
        .showErrorMessage(
          `The Model Soup worker crashed ${this.policy.recentCrashes} times within a minute; it will not be restarted automatically.`,
          "Restart Worker",
        )
        .then((choice) => choice && vscode.commands.executeCommand("modelSoup.restartWorker"));
    }
  }

  /**
   * Starts the worker now if none runs (and it was not stopped after crashes). Starting a process forks the
   * extension host, which stalls it for tens of milliseconds: a panel that will run jobs calls this when it
   * opens, so that pause falls while the panel loads rather than while a merge runs.
   */
  prepare(): void {
    if (!this.client?.running && !this.stoppedAfterCrashes) this.start();
  }

  /** Sends a request to the worker, starting it when none runs. */
  async request<P, R>(type: RequestType<P, R, void>, params: P, token?: vscode.CancellationToken): Promise<R> {
    const client = this.client?.running ? this.client : this.start();
    return client.request(type, params, token as RpcToken | undefined);
  }

  /** The user's "Restart Worker": a fresh process and a fresh crash count. */
  restart(): void {
    const old = this.client;
    this.client = undefined;
    old?.dispose();
    this.policy.reset();
    this.stoppedAfterCrashes = false;
    this.start();
  }

  dispose(): void {
    const old = this.client;
    this.client = undefined;
    old?.dispose();
    this.progressEmitter.dispose();
  }
}
