import assert from "node:assert/strict";
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CancellationTokenSource, ResponseError } from "vscode-jsonrpc";
import {
  createMessageConnection,
  IPCMessageReader,
  IPCMessageWriter,
  type MessageConnection,
} from "vscode-jsonrpc/node";
import { CANCELLED, learnRequest, stepNotification } from "./ipc-protocol.js";

describe("worker/learn over JSON-RPC IPC: $/cancelRequest and progress while learning", function () {
  let child: ChildProcess;
  let connection: MessageConnection;

  beforeEach(() => {
    child = fork(fileURLToPath(new URL("./ipc-learner.ts", import.meta.url)), [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    connection = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    connection.listen();
  });
  afterEach(() => {
    connection.dispose();
    child.kill();
  });

  it("delivers progress live and stops a learning run soon after the client cancels it", async () => {
    const epochs = 40; // 38 steps an epoch: 1520 steps if nothing stops the run
    const source = new CancellationTokenSource();
    const steps: number[] = [];
    connection.onNotification(stepNotification, ({ step }) => {
      steps.push(step);
      if (step === 3) source.cancel();
    });
    await assert.rejects(
      connection.sendRequest(learnRequest, { epochs }, source.token),
      (e: unknown) => e instanceof ResponseError && e.code === CANCELLED,
    );
    assert.ok(
      source.token.isCancellationRequested,
      "the client cancelled because step 3 was reported while the run went on",
    );
    assert.ok(steps.length >= 3 && steps.length < 200, `${steps.length} of ${epochs * 38} steps ran`);
  });
});
