/**
 * Fisher merging's statistics: the diagonal empirical Fisher of a model, F = mean over examples of (∂ log p(y|x) / ∂θ)²,
 * with y the example's label when the data has labels, else the model's own prediction. One backward pass per
 * example (the square of a batch's summed gradient is not the sum of the examples' squares); the squares are
 * summed on the backend and read once at the end.
 */
import * as tf from "@tensorflow/tfjs";
import { UsageError } from "../../core/errors.js";
import { DEFAULT_FISHER_EXAMPLES } from "../../core/merge/methods/fisher.js";
import type { Cancellation } from "../../core/cancellation.js";
import { sampleLosses, type Task } from "../learn/loss.js";
import { forward } from "../learn/objective.js";
import { tensorOf } from "../learn/problem.js";
import { nextStep } from "../learn/yield.js";

// The first examples of the learn split are used (the split is already shuffled).
export { DEFAULT_FISHER_EXAMPLES } from "../../core/merge/methods/fisher.js";

/** tf.variableGrads, with the one failure users meet named: a backend without a layer's gradient kernels. */
function gradients(f: () => tf.Scalar, vars: tf.Variable[]): ReturnType<typeof tf.variableGrads> {
  try {
    return tf.variableGrads(f, vars);
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    if (/not registered for backend/.test(message)) {
      throw new UsageError(
        `Fisher merging needs gradients the ${tf.getBackend()} backend does not provide (${message}); run it with --backend cpu`,
      );
    }
    throw error;
  }
}

/** The label the model itself predicts, in the form the task's loss reads. */
function ownPrediction(task: Task, pred: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    if (task.outputs === "values")
      throw new UsageError(
        "Fisher merging of a regression model needs labelled data (its own prediction has zero loss)",
      );
    if (task.binary) return pred.greater(task.outputs === "logits" ? 0 : 0.5).toFloat();
    const classes = pred.argMax(-1);
    return task.loss.name === "categorical_crossentropy"
      ? tf.oneHot(classes.toInt(), pred.shape[pred.rank - 1]!).toFloat()
      : classes.toFloat();
  });
}

/**
 * The diagonal Fisher of every variable in `variables` (trainable ones: those the loss depends on through the
 * forward pass), as one Float32Array per variable; −log p(y|x) is the task's per-example loss (cross-entropy for a
 * classifier, squared error, i.e. a Gaussian log-likelihood up to a constant factor, for regression).
 */
export async function diagonalFisher(
  model: tf.LayersModel,
  variables: readonly tf.LayerVariable[],
  task: Task,
  x: tf.Tensor,
  y: tf.Tensor | undefined,
  options: { examples?: number; cancel?: Cancellation } = {},
): Promise<Float32Array[]> {
  const count = Math.min(x.shape[0]!, options.examples ?? DEFAULT_FISHER_EXAMPLES);
  if (count === 0) throw new UsageError("Fisher merging needs at least one example in the learn split");
  const vars = variables.map(tensorOf);
  const sums: tf.Tensor[] = vars.map((v) => tf.zerosLike(v));
  try {
    for (let e = 0; e < count; e++) {
      if (e % 16 === 0) await nextStep(options.cancel);
      const xe = tf.slice(x, [e], [1]);
      const ye = y === undefined ? undefined : tf.slice(y, [e], [1]);
      try {
        const target = ye ?? tf.tidy(() => ownPrediction(task, forward(model, xe)));
        const { value, grads } = gradients(
          () => tf.tidy(() => sampleLosses(task.loss, forward(model, xe), target).sum() as tf.Scalar),
          vars,
        );
        vars.forEach((v, k) => {
          const g = grads[v.name];
          if (g === undefined) return;
          const next = tf.tidy(() => sums[k]!.add(g.square()));
          sums[k]!.dispose();
          sums[k] = next;
        });
        tf.dispose([value, ...Object.values(grads)]);
        if (ye === undefined) target.dispose();
      } finally {
        tf.dispose([xe, ...(ye ? [ye] : [])]);
      }
    }
    return sums.map((s) => {
      const values = s.dataSync() as Float32Array;
      return Float32Array.from(values, (v) => v / count);
    });
  } finally {
    tf.dispose(sums);
  }
}
