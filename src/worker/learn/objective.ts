// The scalar being minimised on a batch: the supervised loss, or the mean prediction entropy (label-free).
import * as tf from "@tensorflow/tfjs";
import { UsageError } from "../../core/errors.js";
import { outputActivation, resolveTask, sampleEntropy, sampleLosses, type LossSpec, type Task } from "./loss.js";
import type { SoupData } from "./problem.js";

import type { Objective as ObjectiveName } from "../../protocol/choices.js";

export type { ObjectiveName };

export interface Objective {
  readonly name: ObjectiveName;
  readonly task: Task;
}

export function resolveObjective(
  model: tf.LayersModel,
  name: ObjectiveName,
  data: SoupData,
  options: { loss?: LossSpec; trainingConfig?: unknown } = {},
): Objective {
  if (name === "supervised") {
    if (data.y === undefined)
      throw new UsageError("The supervised objective needs labels; use the entropy objective for unlabeled data.");
    return { name, task: resolveTask(model, { ...options, y: data.y }) };
  }
  let task = resolveTask(model, options);
  if (task.outputs === "values") {
    const units = model.outputs[0]!.shape.at(-1) ?? 1;
    if (outputActivation(model) !== "linear" || units < 2) {
      throw new UsageError("The entropy objective needs a classifier (softmax/sigmoid outputs or logits).");
    }
    task = {
      loss: { name: "sparse_categorical_crossentropy", fromLogits: true },
      metric: "accuracy",
      outputs: "logits",
      binary: false,
    };
  }
  return { name, task };
}

/** Per-sample objective values, shape [batch]; y is ignored by the entropy objective. */
export function sampleObjective(objective: Objective, pred: tf.Tensor, y: tf.Tensor | undefined): tf.Tensor1D {
  if (objective.name === "entropy") return sampleEntropy(objective.task, pred);
  return sampleLosses(objective.task.loss, pred, y!);
}

/** Runs the model in inference mode (dropout off, BatchNormalization on its moving statistics). */
export function forward(model: tf.LayersModel, x: tf.Tensor): tf.Tensor {
  return model.apply(x, { training: false }) as tf.Tensor;
}
