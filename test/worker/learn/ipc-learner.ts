// Child process for learn-ipc.test.ts: serves one JSON-RPC request that learns soup coefficients on toy data,
// with the request's CancellationToken and a progress notification per step, as the worker does.
import * as tf from "@tensorflow/tfjs";
import { ResponseError } from "vscode-jsonrpc";
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from "vscode-jsonrpc/node";
import { CancelledError } from "../../../src/core/errors.js";
import { mulberry32 } from "../../../src/core/random.js";
import { learnOnTfjs as learnCoefficients } from "../../../src/worker/engine/tfjs-learn.js";
import { CANCELLED, learnRequest, stepNotification } from "./ipc-protocol.js";
import { blobs, disposeData, mlp, problemOf, rowsOf, weightsOf } from "./toy.js";

const connection = createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process));
connection.onRequest(learnRequest, async ({ epochs }, token) => {
  await tf.setBackend("cpu");
  const all = blobs(400, 5);
  const learn = rowsOf(all, 0, 300);
  const validation = rowsOf(all, 300, 400);
  const executor = mlp({ seed: 1, hidden: 5 });
  const random = mulberry32(3);
  const base = weightsOf(mlp({ seed: 2, hidden: 5 }));
  const ingredients = [0, 1, 2].map(() => base.map((w) => w.map((v) => v + 0.3 * (random() - 0.5))));
  try {
    const result = await learnCoefficients(problemOf(executor, ingredients), learn, validation, {
      batchSize: 8,
      maxSteps: epochs * Math.ceil(300 / 8),
      patience: Number.MAX_SAFE_INTEGER,
      cancel: token,
      onProgress: (p) => void connection.sendNotification(stepNotification, { step: p.step }),
    });
    return { steps: result.steps };
  } catch (error) {
    if (error instanceof CancelledError) throw new ResponseError(CANCELLED, error.message);
    throw error;
  } finally {
    disposeData(all, learn, validation);
    executor.dispose();
  }
});
process.on("disconnect", () => process.exit(0));
connection.listen();
