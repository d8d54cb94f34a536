// The one place that decides where a model can learn: a gradient of the loaded model on two rows, on the
// active backend, else on cpu. TF.js moves existing tensors to the new backend when they are next used.
import * as tf from "@tensorflow/tfjs";
import { ModelFileError } from "../core/errors.js";
import type { BackendName } from "../protocol/worker.js";
import { selectBackend } from "./backend.js";

export interface LearnableBackend {
  readonly backend: BackendName;
  /** Why learning left the chosen backend, when it did. */
  readonly note?: string;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0] ?? message;
}

/** Throws TF.js's own error when the model's gradient with respect to every weight cannot be computed here. */
export function probeGradient(model: tf.LayersModel, x: tf.Tensor): void {
  const variables = model.weights.map((w) => w.read() as tf.Variable);
  // Non-trainable weights (BatchNormalization statistics) are merged, so learning differentiates them too.
  const wasTrainable = variables.map((v) => v.trainable);
  variables.forEach((v) => (v.trainable = true));
  try {
    tf.tidy(() => {
      const rows = x.slice(0, Math.min(2, x.shape[0]!));
      const { value, grads } = tf.variableGrads(
        () => tf.sum(model.apply(rows, { training: false }) as tf.Tensor) as tf.Scalar,
        variables,
      );
      // Reading forces every kernel to run (and fail here, not in the first learning step).
      value.dataSync();
      for (const g of Object.values(grads)) g.dataSync();
    });
  } finally {
    variables.forEach((v, k) => (v.trainable = wasTrainable[k]!));
  }
}

/**
 * The backend to learn on: `current` when it computes the model's gradient, else cpu (switched to, with a note
 * that says why). Throws a one-line error naming `modelPath` when no backend can.
 */
export async function ensureLearnableBackend(
  model: tf.LayersModel,
  x: tf.Tensor,
  current: BackendName,
  modelPath: string,
): Promise<LearnableBackend> {
  let failure: string;
  try {
    probeGradient(model, x);
    return { backend: current };
  } catch (error) {
    failure = firstLine(error);
  }
  if (current !== "cpu") {
    await selectBackend("cpu");
    try {
      probeGradient(model, x);
      return {
        backend: "cpu",
        note: `learning on the cpu backend: the ${current} backend cannot compute this model's gradient (${failure})`,
      };
    } catch (error) {
      failure = firstLine(error);
    }
  }
  throw new ModelFileError(
    modelPath,
    `TensorFlow.js cannot compute this model's gradient, so its soup cannot be learned (${failure})`,
  );
}
