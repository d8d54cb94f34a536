/**
 * The task of a PyTorch model, from its labels and its output (PyTorch classifiers output logits): class indices →
 * cross-entropy from logits (binary from one logit), numbers → squared error (or `--loss mae`); an explicit
 * `--loss` is honoured. The Task and Objective are worker/learn's own, so the learner, the engine and the
 * TypeScript scoring (loss.ts) read them alike.
 */
import type { DatasetTask } from "../../../core/data/dataset.js";
import { UsageError } from "../../../core/errors.js";
import type { LossChoice, Objective as ObjectiveName } from "../../../protocol/choices.js";
import type { Task } from "../../learn/loss.js";
import type { Objective } from "../../learn/objective.js";

function classifier(units: number): Task {
  return units === 1
    ? {
        loss: { name: "binary_crossentropy", fromLogits: true },
        metric: "accuracy",
        outputs: "logits",
        binary: true,
      }
    : {
        loss: { name: "sparse_categorical_crossentropy", fromLogits: true },
        metric: "accuracy",
        outputs: "logits",
        binary: false,
      };
}

/** The supervised task of a model with `units` outputs on labels the loaders read as `labels`. */
export function torchTask(labels: DatasetTask, units: number, loss: LossChoice = "auto"): Task {
  if (loss === "mae")
    return {
      loss: { name: "mean_absolute_error", fromLogits: false },
      metric: "mae",
      outputs: "values",
      binary: false,
    };
  if (loss === "mse" || (loss === "auto" && labels === "regression"))
    return { loss: { name: "mean_squared_error", fromLogits: false }, metric: "mae", outputs: "values", binary: false };
  return classifier(units);
}

/** The objective learned: the supervised loss, or the mean prediction entropy of a classifier (label-free). */
export function torchObjective(
  name: ObjectiveName,
  labels: DatasetTask,
  units: number,
  loss: LossChoice | undefined,
): Objective {
  if (name === "supervised") {
    if (labels === "unlabeled")
      throw new UsageError("The supervised objective needs labels; use the entropy objective for unlabeled data.");
    return { name, task: torchTask(labels, units, loss) };
  }
  const task = labels === "unlabeled" ? classifier(units) : torchTask(labels, units, loss);
  if (task.outputs === "values" || units < 1)
    throw new UsageError("The entropy objective needs a classifier (logits of several classes, or one logit).");
  return { name, task };
}
