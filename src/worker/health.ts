/** The worker's resource use for `soup/health`: process memory and the TensorFlow.js engine's live tensors. */
import * as tf from "@tensorflow/tfjs";
import type { HealthParams, WorkerHealth } from "../protocol/worker.js";

export async function runHealth(params: HealthParams): Promise<WorkerHealth> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const collected = params.collectGarbage === true && gc !== undefined;
  if (collected) gc();
  const memory = process.memoryUsage();
  // The engine's own counters: tf.memory() would start a backend when no job has chosen one yet.
  const engine = tf.engine();
  return {
    pid: process.pid,
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    externalBytes: memory.external,
    arrayBuffersBytes: memory.arrayBuffers,
    numTensors: engine.state.numTensors,
    tensorBytes: engine.state.numBytes,
    backend: engine.backendName ?? null,
    collected,
  };
}
